import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/contract/index.js';
import { CONTEXT_PREFIX, configFromContext } from '../../lib/config.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import { allowSlowSynthesis } from './helpers.js';

allowSlowSynthesis();

const contextOf = (values: Record<string, unknown>) => ({
  tryGetContext: (key: string): unknown => values[key.slice(CONTEXT_PREFIX.length)],
});

describe('configFromContext', () => {
  it('defaults to an environment-agnostic stack named MarketoTokenVendor with construct defaults', () => {
    const config = configFromContext(contextOf({}));
    expect(config.stackName).toBe('MarketoTokenVendor');
    expect(config.stackProps.env).toBeUndefined();
    expect(Object.values(config.stackProps.vendor ?? {}).every((v) => v === undefined)).toBe(true);
  });

  it('reads typed values from cdk.json', () => {
    const config = configFromContext(
      contextOf({
        refreshScheduleMinutes: 2,
        leaseDurationSeconds: 10,
        identityAllowedHosts: ['*.mktorest.com', 'identity.example.com'],
        apiRateLimit: 20,
        logRetentionDays: 90,
        removalPolicy: 'destroy',
        pointInTimeRecovery: true,
        alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:alarms',
      }),
    );
    expect(config.stackProps.vendor).toMatchObject({
      refreshSchedule: Duration.minutes(2),
      leaseDuration: Duration.seconds(10),
      identityAllowedHosts: ['*.mktorest.com', 'identity.example.com'],
      apiThrottle: { rateLimit: 20, burstLimit: 200 },
      logRetention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: true,
    });
    expect(config.stackProps.alarmTopicArn).toBe('arn:aws:sns:eu-west-1:111111111111:alarms');
  });

  it('reads the API name and whether the stack sets the API Gateway logging role (string forms of -c)', () => {
    const config = configFromContext(
      contextOf({ apiName: 'acme-marketo-tokens', apiGatewayCloudWatchRole: 'false' }),
    );
    expect(config.stackProps.vendor).toMatchObject({
      apiName: 'acme-marketo-tokens',
      apiGatewayCloudWatchRole: false,
    });
  });

  it('reads the string forms given with cdk -c', () => {
    const config = configFromContext(
      contextOf({
        allowedAccounts: '111111111111, 222222222222',
        memorySize: '1024',
        pointInTimeRecovery: 'false',
      }),
    );
    expect(config.stackProps.vendor).toMatchObject({
      allowedAccounts: ['111111111111', '222222222222'],
      memorySize: 1024,
      pointInTimeRecovery: false,
    });
  });

  it('reads the vend function’s reserved concurrency as a number or false', () => {
    const read = (value: unknown) =>
      configFromContext(contextOf({ vendReservedConcurrency: value })).stackProps.vendor
        ?.vendReservedConcurrency;
    expect([read(50), read('50'), read(false), read('false'), read(undefined)]).toEqual([
      50,
      50,
      false,
      false,
      undefined,
    ]);
  });

  it('reads the dashboard, fan-out and private-endpoint keys', () => {
    const config = configFromContext(
      contextOf({
        dashboard: 'false',
        refreshFanOutThreshold: 200,
        refreshBatchSize: '50',
        refreshWorkerConcurrency: 20,
        vpcEndpointIds: 'vpce-0123456789abcdef0',
      }),
    );
    expect(config.stackProps.vendor).toMatchObject({
      dashboard: false,
      refreshFanOutThreshold: 200,
      refreshBatchSize: 50,
      refreshWorkerConcurrency: 20,
    });
    expect(config.stackProps.vpcEndpointIds).toEqual(['vpce-0123456789abcdef0']);
  });

  it('pins the environment only when account or region is configured', () => {
    const config = configFromContext(contextOf({ account: '111111111111', region: 'eu-west-1' }));
    expect(config.stackProps.env).toEqual({ account: '111111111111', region: 'eu-west-1' });
  });

  describe('the shared Marketo API budget (marketo-token-vendor:budget)', () => {
    it('is the construct default (on, Marketo’s limits) when the key is unset', () => {
      const config = configFromContext(contextOf({}));

      expect(config.stackProps.vendor?.budget).toBeUndefined();
    });

    it('reads on/off and the reserved share for every instance, limits per instance, store failure and alarm from cdk.json', () => {
      const config = configFromContext(
        contextOf({
          budget: {
            enabled: true,
            reservedShare: 0.2,
            limits: {
              '123-abc-456.mktorest.com': { callsPerWindow: 50, concurrentCalls: 5, reservedShare: 0.1 },
            },
            onStoreFailure: 'closed',
            dailyQuotaAlarmPercent: 90,
          },
        }),
      );

      expect(config.stackProps.vendor?.budget).toEqual({
        limits: {
          '123-abc-456.mktorest.com': { callsPerWindow: 50, concurrentCalls: 5, reservedShare: 0.1 },
          default: { enabled: true, reservedShare: 0.2 },
        },
        onStoreFailure: 'closed',
        dailyQuotaAlarmPercent: 90,
      });
    });

    it('reads the reconcile interval (seconds) and the Bulk limits from cdk.json', () => {
      const config = configFromContext(
        contextOf({
          budget: {
            reconcileIntervalSeconds: 60,
            bulkLimits: { default: { reservedShare: 0.2 }, '123-abc-456.mktorest.com': { extractJobs: 6 } },
          },
        }),
      );

      expect(config.stackProps.vendor?.budget).toEqual({
        reconcileInterval: Duration.seconds(60),
        bulkLimits: { default: { reservedShare: 0.2 }, '123-abc-456.mktorest.com': { extractJobs: 6 } },
      });
    });

    it('reads the JSON string given with cdk -c, e.g. turning the budget off', () => {
      const config = configFromContext(contextOf({ budget: '{"enabled": false}' }));

      expect(config.stackProps.vendor?.budget).toEqual({ limits: { default: { enabled: false } } });
    });

    it('reaches the vend function as its BUDGET_LIMITS and BUDGET_ON_STORE_FAILURE environment', () => {
      const app = new App({
        context: {
          [`${CONTEXT_PREFIX}budget`]: {
            reservedShare: 0.25,
            limits: { '123-abc-456.mktorest.com': { dailyQuota: 10_000 } },
            onStoreFailure: 'closed',
          },
        },
      });
      const config = configFromContext(app.node);

      const template = Template.fromStack(new TokenVendorStack(app, config.stackName, config.stackProps));

      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [ENV.budgetLimits]: JSON.stringify({
              '123-abc-456.mktorest.com': { dailyQuota: 10_000 },
              default: { reservedShare: 0.25 },
            }),
            [ENV.budgetOnStoreFailure]: 'closed',
          }),
        },
      });
    });

    it.each([
      [[1, 2], /marketo-token-vendor:budget must be an object like .*, got \[1,2\]/],
      ['{not json', /marketo-token-vendor:budget must be an object like .*, got "\{not json"/],
      [{ enable: false }, /marketo-token-vendor:budget has unknown fields \["enable"\]/],
      [{ enabled: 'no' }, /marketo-token-vendor:budget: enabled must be true or false, got no/],
      [
        { reservedShare: 0.95 },
        /marketo-token-vendor:budget: reservedShare must be a number from 0 to 0.9, got 0.95/,
      ],
      [
        { limits: { 'x.mktorest.com': { callsPerWindow: 0 } } },
        /marketo-token-vendor:budget\.limits\["x\.mktorest\.com"\]: callsPerWindow must be a whole number from 1 to 100000, got 0/,
      ],
      [
        { limits: { 'x.mktorest.com': { calls: 5 } } },
        /marketo-token-vendor:budget\.limits\["x\.mktorest\.com"\]: unknown budget limit "calls"/,
      ],
      [
        { limits: { 'https://x.mktorest.com/rest': {} } },
        /marketo-token-vendor:budget\.limits keys must be an instance's REST host .*, got "https:\/\/x\.mktorest\.com\/rest"/,
      ],
      [
        { limits: ['x.mktorest.com'] },
        /marketo-token-vendor:budget\.limits must be an object keyed by instance REST host/,
      ],
      [
        { reservedShare: 0.2, limits: { default: { reservedShare: 0.3 } } },
        /marketo-token-vendor:budget\.reservedShare is limits\.default\.reservedShare: give it in one place, got both/,
      ],
      [
        { onStoreFailure: 'retry' },
        /marketo-token-vendor:budget\.onStoreFailure must be "open" or "closed", got "retry"/,
      ],
      [
        { reconcileIntervalSeconds: 0 },
        /marketo-token-vendor:budget\.reconcileIntervalSeconds must be a whole number from 1 to 86400, got 0/,
      ],
      [
        { bulkLimits: { default: { extractJobs: 12 } } },
        /marketo-token-vendor:budget\.bulkLimits\["default"\]: extractJobs must be a whole number from 1 to 10, got 12/,
      ],
      [
        { dailyQuotaAlarmPercent: 0 },
        /marketo-token-vendor:budget\.dailyQuotaAlarmPercent must be a number from 1 to 100, got 0/,
      ],
    ])('fails on budget = %j, naming the field and the value', (value, message) => {
      expect(() => configFromContext(contextOf({ budget: value }))).toThrow(message);
    });
  });

  it.each([
    ['memorySize', 'lots', /marketo-token-vendor:memorySize must be a number, got "lots"/],
    ['removalPolicy', 'snapshot', /removalPolicy must be "retain" or "destroy", got "snapshot"/],
    ['logRetentionDays', 31, /logRetentionDays must be one of .*, got 31/],
    ['pointInTimeRecovery', 'yes', /pointInTimeRecovery must be true or false, got "yes"/],
  ])('fails on %s = %j, naming the key and the value', (key, value, message) => {
    expect(() => configFromContext(contextOf({ [key]: value }))).toThrow(message);
  });
});
