import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import {
  CLIENT_ID_PATTERN,
  DEFAULT_MIN_VALIDITY_SECONDS,
  ID_RULE,
  MAX_MIN_VALIDITY_SECONDS,
  ROTATION_ALLOWANCE_SECONDS,
  routeOf,
  routePath,
  TOKEN_LIFESPAN_SECONDS,
} from '../functions/contract/index.js';
import type { MarketoTokenVendor } from './marketo-token-vendor.js';
import { tokenKeptBy, workflowsKeepingState } from './workflow-history.js';

/** Options of {@link tokenTask}. */
export interface TokenTaskProps {
  /** The vendor to ask. Its API must not be `PRIVATE`: Step Functions cannot call private APIs. */
  readonly vendor: MarketoTokenVendor;
  /** The Marketo Custom Service (client id) whose token the workflow needs. */
  readonly clientId: string;
  /**
   * Seconds the token must still be valid for when the task returns; size it to the steps that use it.
   * At most 3500 (a token lives 3600 s).
   * @default - the vendor's default, 20 s (DEFAULT_MIN_VALIDITY_SECONDS, as the API and the client library)
   */
  readonly minValidity?: number;
  /**
   * Where the token goes in the state: a {@link TokenTaskResult}.
   * @default '$.marketoToken'
   */
  readonly resultPath?: string;
  /**
   * How the task retries the vendor's `503` (`TokenRotating` near an expiry, `IdentityUnavailable`) and API
   * Gateway's `429`, which Step Functions raises as `ApiGateway.503` / `ApiGateway.429`. `false`: the
   * workflow handles them itself.
   * @default both errors, after 2 s doubling up to 30 s, for at least `minValidity` + 30 s in all (the
   *   rotation window, as the client library's default budget)
   */
  readonly retry?: sfn.RetryProps | false;
  /**
   * Accept that the workflow keeps the token where others can read it: a STANDARD workflow's execution
   * history (90 days, `states:GetExecutionHistory`), or logs that include execution data. Without it,
   * synthesis fails for such a workflow (docs/consumers.md, "Step Functions", shows the safe patterns).
   * @default false
   */
  readonly allowTokenInExecutionHistory?: boolean;
}

/** What the task puts at `resultPath`: the fields of the API's answer a Marketo call needs. */
export interface TokenTaskResult {
  readonly accessToken: string;
  readonly tokenType: string;
  /** ISO 8601, UTC, as the API returns it (e.g. `2026-12-01T21:00:00.000Z`). */
  readonly expiresAt: string;
  /** Whole seconds the token had left when the API answered. */
  readonly expiresIn: number;
}

/**
 * Step Functions raises a non-2xx answer of the API Gateway integration as `ApiGateway.<status>` by the current
 * guide (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html#connect-api-gateway-errors),
 * `APIGateway.<status>` by an earlier revision of it; `ErrorEquals` is case-sensitive, so both are retried.
 */
const RETRIED_ERRORS = ['503', '429'].flatMap((status) => [`ApiGateway.${status}`, `APIGateway.${status}`]);
const RETRY_INTERVAL_SECONDS = 2;
const RETRY_BACKOFF_RATE = 2;
const RETRY_MAX_DELAY_SECONDS = 30;

/** Attempts after which the default retrier has waited at least `totalSeconds` in all. */
const attemptsCovering = (totalSeconds: number): number => {
  let waited = 0;
  let attempts = 0;
  while (waited < totalSeconds) {
    waited += Math.min(RETRY_INTERVAL_SECONDS * RETRY_BACKOFF_RATE ** attempts, RETRY_MAX_DELAY_SECONDS);
    attempts += 1;
  }
  return attempts;
};

const defaultRetry = (minValiditySeconds: number): sfn.RetryProps => ({
  errors: RETRIED_ERRORS,
  interval: Duration.seconds(RETRY_INTERVAL_SECONDS),
  backoffRate: RETRY_BACKOFF_RATE,
  maxDelay: Duration.seconds(RETRY_MAX_DELAY_SECONDS),
  maxAttempts: attemptsCovering(minValiditySeconds + ROTATION_ALLOWANCE_SECONDS),
});

/** Whether the vendor's REST API is PRIVATE (read from its CloudFormation resource). */
const isPrivateApi = (vendor: MarketoTokenVendor): boolean => {
  const resource = vendor.api.node.defaultChild as apigateway.CfnRestApi | undefined;
  const configuration = resource?.endpointConfiguration as
    | apigateway.CfnRestApi.EndpointConfigurationProperty
    | undefined;
  return (configuration?.types ?? []).includes(apigateway.EndpointType.PRIVATE);
};

/**
 * A Step Functions task that fetches a Marketo access token from the vendor's API
 * (`GET tokens/<clientId>`, signed with the state machine's role: `IAM_ROLE`) and puts a
 * {@link TokenTaskResult} `{accessToken, tokenType, expiresAt, expiresIn}` at `resultPath`. The state
 * machine's role is granted `execute-api:Invoke` on exactly `…/GET/tokens/<clientId>`. Near a token's
 * expiry the vendor may answer `503` with `Retry-After`; the task retries it (and `429`) by default.
 *
 * Keeping the token out of execution history: a *standard* workflow records every state's input and
 * output in its execution history (kept 90 days, visible to anyone with `states:GetExecutionHistory`),
 * so the bearer token would be stored there. Synthesis therefore fails when the task is part of a STANDARD
 * workflow (CDK's default) or of one whose logs include execution data, unless
 * `allowTokenInExecutionHistory` is set. Either
 * - use an *Express* workflow whose logs leave execution data out (`includeExecutionData: false`) —
 *   Express workflows have no execution history, only logs; or
 * - do not fetch the token in the workflow at all: let the consuming Lambda fetch it itself
 *   (client library / `grantVend`), so it never becomes state.
 * Tokens live at most an hour, but treat them as secrets all the same.
 *
 * Fails synthesis when the vendor's API is `PRIVATE`: Step Functions' API Gateway integration supports
 * regional APIs only (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html,
 * "API Gateway feature support").
 */
export function tokenTask(
  scope: Construct,
  id: string,
  props: TokenTaskProps,
): tasks.CallApiGatewayRestApiEndpoint {
  const fail = (message: string): never => {
    throw new Error(`tokenTask "${id}": ${message}`);
  };
  if (!CLIENT_ID_PATTERN.test(props.clientId)) {
    fail(`clientId must be ${ID_RULE}, got "${props.clientId}"`);
  }
  const minValidity = props.minValidity;
  if (
    minValidity !== undefined &&
    !(Number.isInteger(minValidity) && minValidity >= 0 && minValidity <= MAX_MIN_VALIDITY_SECONDS)
  ) {
    fail(
      `minValidity must be a whole number of seconds from 0 to ${MAX_MIN_VALIDITY_SECONDS} ` +
        `(a token lives ${TOKEN_LIFESPAN_SECONDS} s), got ${minValidity}`,
    );
  }
  if (isPrivateApi(props.vendor)) {
    fail(
      "the vendor's API is PRIVATE, and Step Functions' API Gateway integration cannot call private APIs. " +
        'Fetch the token in a Lambda inside the VPC with the client library (grantVend) instead, ' +
        'or give the workflow a vendor with a REGIONAL API.',
    );
  }
  // Finds this task in the state machine definitions at synthesis (issue 22): its path is unique in the app.
  const marker = `marketo-token-vendor tokenTask ${scope.node.path}/${id}`;
  const task = new tasks.CallApiGatewayRestApiEndpoint(scope, id, {
    comment: `Gets the Marketo access token of client "${props.clientId}" (${marker})`,
    api: props.vendor.api,
    stageName: props.vendor.stageName,
    method: tasks.HttpMethod.GET,
    apiPath: routePath(routeOf('token'), props.clientId),
    authType: tasks.AuthType.IAM_ROLE,
    queryParameters:
      minValidity === undefined
        ? undefined
        : sfn.TaskInput.fromObject({ minValidity: [String(minValidity)] }),
    // Only what a Marketo call needs: no headers, status text or other response noise in the state.
    resultSelector: {
      accessToken: sfn.JsonPath.stringAt('$.ResponseBody.accessToken'),
      tokenType: sfn.JsonPath.stringAt('$.ResponseBody.tokenType'),
      expiresAt: sfn.JsonPath.stringAt('$.ResponseBody.expiresAt'),
      expiresIn: sfn.JsonPath.numberAt('$.ResponseBody.expiresIn'),
    },
    resultPath: props.resultPath ?? '$.marketoToken',
  });
  if (props.retry !== false) {
    task.addRetry(props.retry ?? defaultRetry(minValidity ?? DEFAULT_MIN_VALIDITY_SECONDS));
  }
  if (props.allowTokenInExecutionHistory !== true) {
    task.node.addValidation({
      validate: () =>
        workflowsKeepingState(task, marker).map((workflow) => `tokenTask "${id}": ${tokenKeptBy(workflow)}`),
    });
  }
  return task;
}
