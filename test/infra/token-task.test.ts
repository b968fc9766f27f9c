import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs_ from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_MIN_VALIDITY_SECONDS, MAX_MIN_VALIDITY_SECONDS } from '../../functions/contract/index.js';
import type { TokenResponse } from '../../functions/http/vend-request.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { type TokenTaskProps, type TokenTaskResult, tokenTask } from '../../lib/token-task.js';
import { aslValidator, stateMachineDefinition } from '../support/asl.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

/** The Task state `tokenTask` renders, as it appears in the state machine definition. */
interface TokenTaskState {
  readonly Parameters: Record<string, unknown>;
  readonly ResultSelector: Record<string, string>;
  readonly ResultPath: string;
  readonly Retry?: ReadonlyArray<{
    readonly ErrorEquals: readonly string[];
    readonly IntervalSeconds: number;
    readonly BackoffRate: number;
    readonly MaxAttempts: number;
    readonly MaxDelaySeconds?: number;
  }>;
}

const render = (
  props: Omit<TokenTaskProps, 'vendor'> = { clientId: 'my-sync' },
  vendorProps: MarketoTokenVendorProps = {},
): TokenTaskState => {
  const stack = new Stack(appWithoutBundling(), 'Workflow');
  const vendor = new MarketoTokenVendor(stack, 'Vendor', vendorProps);
  return stack.resolve(tokenTask(stack, 'GetToken', { vendor, ...props }).toStateJson()) as TokenTaskState;
};

/** Applies a ResultSelector of `"key.$": "$.ResponseBody.<field>"` entries, as Step Functions does. */
const select = (selector: Record<string, string>, output: { ResponseBody: unknown }) =>
  Object.fromEntries(
    Object.entries(selector).map(([key, path]) => {
      const field = /^\$\.ResponseBody\.([A-Za-z]+)$/.exec(path)?.[1];
      if (!key.endsWith('.$') || field === undefined) throw new Error(`unexpected selector ${key}: ${path}`);
      return [key.slice(0, -2), (output.ResponseBody as Record<string, unknown>)[field]];
    }),
  );

/** Seconds a Retrier waits in all, over its attempts (interval × rate^n, capped at MaxDelaySeconds). */
const totalRetryWaitSeconds = (retrier: NonNullable<TokenTaskState['Retry']>[number]): number => {
  let total = 0;
  for (let attempt = 0; attempt < retrier.MaxAttempts; attempt += 1) {
    const delay = retrier.IntervalSeconds * retrier.BackoffRate ** attempt;
    total += Math.min(delay, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
  }
  return total;
};

describe('tokenTask', () => {
  describe('the result it puts in the state', () => {
    it("carries expiresAt as the API's ISO 8601 string and expiresIn as whole seconds", () => {
      // The body the vend handler answers with (functions/http/vend-request.ts, TokenResponse).
      const body: TokenResponse = {
        clientId: 'my-sync',
        accessToken: 'tok-1',
        tokenType: 'bearer',
        expiresAt: '2026-12-01T21:00:00.000Z',
        expiresIn: 3540,
        scope: 'api@example.com',
      };
      const state = render();
      const result = select(state.ResultSelector, { ResponseBody: body });
      expect(result).toEqual({
        accessToken: 'tok-1',
        tokenType: 'bearer',
        expiresAt: '2026-12-01T21:00:00.000Z',
        expiresIn: 3540,
      });
      expect(state.ResultPath).toBe('$.marketoToken');
    });

    it('is typed as the API returns it (expiresAt a string, expiresIn a number)', () => {
      expectTypeOf<TokenTaskResult['expiresAt']>().toEqualTypeOf<string>();
      expectTypeOf<TokenTaskResult['expiresIn']>().toEqualTypeOf<number>();
      expectTypeOf<TokenTaskResult['expiresAt']>().toEqualTypeOf<TokenResponse['expiresAt']>();
    });
  });

  describe('retries', () => {
    // Step Functions raises the integration's non-2xx answers as `ApiGateway.<status>` in the current guide
    // (https://docs.aws.amazon.com/step-functions/latest/dg/connect-api-gateway.html#connect-api-gateway-errors)
    // and as `APIGateway.<status>` in an earlier revision of the same page (awsdocs/aws-step-functions-developer-guide,
    // doc_source/connect-api-gateway.md at 83ee806); error names are case-sensitive
    // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation).
    it('retries 503 and 429 under both spellings of the error name, with exponential backoff by default', () => {
      const retry = render().Retry;
      expect(retry).toEqual([
        {
          ErrorEquals: ['ApiGateway.503', 'APIGateway.503', 'ApiGateway.429', 'APIGateway.429'],
          IntervalSeconds: 2,
          BackoffRate: 2,
          MaxDelaySeconds: 30,
          MaxAttempts: expect.any(Number),
        },
      ]);
    });

    it.each([undefined, 300, MAX_MIN_VALIDITY_SECONDS])(
      'waits in all at least the rotation window of minValidity %s (minValidity + 30 s)',
      (minValidity) => {
        const state = render({ clientId: 'my-sync', ...(minValidity === undefined ? {} : { minValidity }) });
        const retrier = state.Retry?.[0];
        if (!retrier) throw new Error('no Retry on the task');
        expect(totalRetryWaitSeconds(retrier)).toBeGreaterThanOrEqual(
          (minValidity ?? DEFAULT_MIN_VALIDITY_SECONDS) + 30,
        );
      },
    );

    it('leaves retrying to the workflow with retry: false', () => {
      expect(render({ clientId: 'my-sync', retry: false }).Retry).toBeUndefined();
    });
  });

  describe('validation at synthesis', () => {
    it(`refuses minValidity above ${MAX_MIN_VALIDITY_SECONDS}, which no token can give`, () => {
      expect(() => render({ clientId: 'my-sync', minValidity: MAX_MIN_VALIDITY_SECONDS + 1 })).toThrow(
        `tokenTask "GetToken": minValidity must be a whole number of seconds from 0 to ${MAX_MIN_VALIDITY_SECONDS} ` +
          `(a token lives 3600 s), got ${MAX_MIN_VALIDITY_SECONDS + 1}`,
      );
    });

    it(`accepts minValidity ${MAX_MIN_VALIDITY_SECONDS} and sends it as a query parameter`, () => {
      const state = render({ clientId: 'my-sync', minValidity: MAX_MIN_VALIDITY_SECONDS });
      expect(state.Parameters.QueryParameters).toEqual({ minValidity: [String(MAX_MIN_VALIDITY_SECONDS)] });
    });

    it('refuses a PRIVATE vendor API, which Step Functions cannot reach, and says what to do instead', () => {
      const stack = new Stack(appWithoutBundling(), 'Private');
      const vendor = new MarketoTokenVendor(stack, 'Vendor', {
        endpointType: apigateway.EndpointType.PRIVATE,
        vpcEndpoints: [
          ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'ExecuteApi', {
            vpcEndpointId: 'vpce-0123456789abcdef0',
            port: 443,
          }),
        ],
      });
      expect(() => tokenTask(stack, 'GetToken', { vendor, clientId: 'my-sync' })).toThrow(
        /^tokenTask "GetToken": the vendor's API is PRIVATE, and Step Functions' API Gateway integration cannot call private APIs.*Lambda/,
      );
    });
  });

  /**
   * A standard workflow keeps every state's input and output in its execution history for 90 days; an express
   * workflow keeps none, and logs state data only with `includeExecutionData`
   * (https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html,
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html).
   * `states:GetExecutionHistory` returns that data by default (`includeExecutionData` defaults to true,
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
   */
  describe('a workflow that would keep the token in its history or logs', () => {
    const workflow = (
      machine: (stack: Stack, definition: sfn.IChainable) => sfn.StateMachineProps,
      taskProps: Partial<TokenTaskProps> = {},
      wrap: (stack: Stack, task: sfn.TaskStateBase) => sfn.IChainable = (_stack, task) => task,
    ) => {
      const app = appWithoutBundling();
      const stack = new Stack(app, 'Workflow');
      const vendor = new MarketoTokenVendor(stack, 'Vendor');
      const task = tokenTask(stack, 'GetToken', { vendor, clientId: 'my-sync', ...taskProps });
      const definition = wrap(stack, task);
      new sfn.StateMachine(stack, 'Machine', machine(stack, definition));
      return () => app.synth();
    };
    const logs = (stack: Stack, includeExecutionData: boolean): sfn.LogOptions => ({
      destination: new logs_.LogGroup(stack, 'Logs'),
      level: sfn.LogLevel.ALL,
      includeExecutionData,
    });
    const body = (definition: sfn.IChainable) => sfn.DefinitionBody.fromChainable(definition);

    it('fails synthesis in a STANDARD workflow (CDK’s default), naming the safe patterns and the opt-in', () => {
      expect(workflow((_stack, definition) => ({ definitionBody: body(definition) }))).toThrow(
        /tokenTask "GetToken": state machine Workflow\/Machine is STANDARD, whose execution history keeps every state's input and output for 90 days \(states:GetExecutionHistory\): the Marketo access token would be stored there\. Use an EXPRESS workflow whose logs leave execution data out, or let a Lambda task fetch its own token \(docs\/consumers\.md, "Step Functions"\); to accept it, set allowTokenInExecutionHistory: true/,
      );
    });

    it('fails synthesis in a STANDARD workflow also when the task sits in a Parallel branch', () => {
      expect(
        workflow(
          (_stack, definition) => ({ definitionBody: body(definition) }),
          {},
          (stack, task) => new sfn.Parallel(stack, 'Both').branch(task).branch(new sfn.Pass(stack, 'Other')),
        ),
      ).toThrow(/tokenTask "GetToken": state machine Workflow\/Machine is STANDARD/);
    });

    it('fails synthesis in an EXPRESS workflow whose logs include execution data', () => {
      expect(
        workflow((stack, definition) => ({
          definitionBody: body(definition),
          stateMachineType: sfn.StateMachineType.EXPRESS,
          logs: logs(stack, true),
        })),
      ).toThrow(
        /tokenTask "GetToken": state machine Workflow\/Machine logs execution data \(includeExecutionData: true\) at level ALL: the Marketo access token would be written to CloudWatch Logs/,
      );
    });

    it('synthesizes in an EXPRESS workflow whose logs leave execution data out', () => {
      expect(
        workflow((stack, definition) => ({
          definitionBody: body(definition),
          stateMachineType: sfn.StateMachineType.EXPRESS,
          logs: logs(stack, false),
        })),
      ).not.toThrow();
    });

    it('synthesizes in a STANDARD workflow when the user opts in with allowTokenInExecutionHistory', () => {
      expect(
        workflow((_stack, definition) => ({ definitionBody: body(definition) }), {
          allowTokenInExecutionHistory: true,
        }),
      ).not.toThrow();
    });
  });

  describe('the state machine definition it is part of', () => {
    it('is valid ASL by asl-validator (schemas and paths), retry spellings included', () => {
      const stack = new Stack(appWithoutBundling(), 'Asl');
      const vendor = new MarketoTokenVendor(stack, 'Vendor');
      const task = tokenTask(stack, 'GetToken', { vendor, clientId: 'my-sync', minValidity: 120 });
      new sfn.StateMachine(stack, 'Machine', {
        definitionBody: sfn.DefinitionBody.fromChainable(task),
        stateMachineType: sfn.StateMachineType.EXPRESS,
      });
      const result = aslValidator(stateMachineDefinition(Template.fromStack(stack)));
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });
  });
});
