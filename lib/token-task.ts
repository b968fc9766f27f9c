import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';

/** Options of {@link tokenTask}. */
export interface TokenTaskProps {
  /** The vendor to ask. */
  readonly vendor: MarketoTokenVendor;
  /** The Marketo Custom Service (client id) whose token the workflow needs. */
  readonly clientId: string;
  /**
   * Seconds the token must still be valid for when the task returns; size it to the steps that use it.
   * @default - the vendor's default (DEFAULT_MIN_VALIDITY_SECONDS, 20)
   */
  readonly minValidity?: number;
  /**
   * Where the token goes in the state.
   * @default '$.marketoToken'
   */
  readonly resultPath?: string;
}

const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A Step Functions task that fetches a Marketo access token from the vendor's API
 * (`GET tokens/<clientId>`, signed with the state machine's role: `IAM_ROLE`) and puts
 * `{accessToken, tokenType, expiresAt}` at `resultPath`. The state machine's role is granted
 * `execute-api:Invoke` on exactly `…/GET/tokens/<clientId>`.
 *
 * Keeping the token out of execution history: a *standard* workflow records every state's input and
 * output in its execution history (kept 90 days, visible to anyone with `states:GetExecutionHistory`),
 * so the bearer token would be stored there. Either
 * - use an *Express* workflow whose logging level is below `ALL` (e.g. `ERROR`) with
 *   `includeExecutionData: false` — Express workflows have no execution history, only logs; or
 * - do not fetch the token in the workflow at all: let the consuming Lambda fetch it itself
 *   (client library / `grantVend`), so it never becomes state.
 * Tokens live at most an hour, but treat them as secrets all the same.
 */
export function tokenTask(
  scope: Construct,
  id: string,
  props: TokenTaskProps,
): tasks.CallApiGatewayRestApiEndpoint {
  if (!CLIENT_ID_PATTERN.test(props.clientId)) {
    throw new Error(
      `clientId must be 1-128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "${props.clientId}"`,
    );
  }
  if (props.minValidity !== undefined && !(Number.isInteger(props.minValidity) && props.minValidity >= 0)) {
    throw new Error(`minValidity must be a non-negative integer of seconds, got ${props.minValidity}`);
  }
  return new tasks.CallApiGatewayRestApiEndpoint(scope, id, {
    api: props.vendor.api,
    stageName: props.vendor.stageName,
    method: tasks.HttpMethod.GET,
    apiPath: `/tokens/${props.clientId}`,
    authType: tasks.AuthType.IAM_ROLE,
    queryParameters:
      props.minValidity === undefined
        ? undefined
        : sfn.TaskInput.fromObject({ minValidity: [String(props.minValidity)] }),
    // Only what a Marketo call needs: no headers, status text or other response noise in the state.
    resultSelector: {
      accessToken: sfn.JsonPath.stringAt('$.ResponseBody.accessToken'),
      tokenType: sfn.JsonPath.stringAt('$.ResponseBody.tokenType'),
      expiresAt: sfn.JsonPath.numberAt('$.ResponseBody.expiresAt'),
    },
    resultPath: props.resultPath ?? '$.marketoToken',
  });
}
