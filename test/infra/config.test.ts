import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CONTEXT_PREFIX, configFromContext } from '../../lib/config.js';
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

  it.each([
    ['memorySize', 'lots', /marketo-token-vendor:memorySize must be a number, got "lots"/],
    ['removalPolicy', 'snapshot', /removalPolicy must be "retain" or "destroy", got "snapshot"/],
    ['logRetentionDays', 31, /logRetentionDays must be one of .*, got 31/],
    ['pointInTimeRecovery', 'yes', /pointInTimeRecovery must be true or false, got "yes"/],
  ])('fails on %s = %j, naming the key and the value', (key, value, message) => {
    expect(() => configFromContext(contextOf({ [key]: value }))).toThrow(message);
  });
});
