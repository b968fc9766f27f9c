import { Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEFAULT_MIN_VALIDITY_SECONDS, MAX_MIN_VALIDITY_SECONDS } from '../../functions/contract/index.js';
import type { TokenResponse } from '../../functions/http/vend-request.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { type TokenTaskProps, type TokenTaskResult, tokenTask } from '../../lib/token-task.js';
import { appWithoutBundling } from './helpers.js';

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
    it('retries ApiGateway.503 and ApiGateway.429 with exponential backoff by default', () => {
      const retry = render().Retry;
      expect(retry).toEqual([
        {
          ErrorEquals: ['ApiGateway.503', 'ApiGateway.429'],
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
});
