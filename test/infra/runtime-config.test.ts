import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  type RuntimeConfig,
  readBudgetConfig,
  readBulkConfig,
  readRuntimeConfig,
} from '../../functions/config.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { appWithoutBundling } from './helpers.js';

/**
 * Issue 14: the construct and the handlers meet only through environment variables. Each function's
 * synthesized `Environment.Variables` is fed to `readRuntimeConfig`, which must accept it and give back the
 * configuration the props asked for. Tokens (Ref, GetAtt) stand in as fixed strings.
 */
type Variables = Record<string, unknown>;

function functionEnvironments(props: MarketoTokenVendorProps): Record<string, Record<string, string>> {
  const stack = new Stack(appWithoutBundling(), 'Config');
  new MarketoTokenVendor(stack, 'Vendor', props);
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const byName: Record<string, Record<string, string>> = {};
  for (const [logicalId, resource] of Object.entries(functions)) {
    const variables = (resource.Properties?.Environment?.Variables ?? {}) as Variables;
    if (!('TABLE_NAME' in variables)) continue;
    byName[logicalId.startsWith('VendorVend') ? 'vend' : 'refresh'] = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : `<${key}>`]),
    );
  }
  return byName;
}

const withoutTokens = (config: RuntimeConfig) => ({ ...config, tableName: '<table>' });

// The first synthesis loads aws-cdk-lib (tens of seconds on a loaded machine); nothing here measures time.
describe('synthesized function environment read by readRuntimeConfig', { timeout: 300_000 }, () => {
  it('gives the defaults to both functions when no props are set', () => {
    const environments = functionEnvironments({});
    expect(Object.keys(environments).sort()).toEqual(['refresh', 'vend']);
    const expected = {
      tableName: '<table>',
      secretPrefix: 'marketo-token-vendor/clients/',
      maxWaitMs: 24_000,
      refreshHorizonMs: 60_000,
      refreshConcurrency: 16,
      vendor: {
        defaultMinValiditySeconds: 20,
        defaultMaxWaitMs: 24_000,
        leaseDurationMs: 15_000,
        identityTimeoutMs: 5_000,
        identityUrlPolicy: { allowedHosts: ['*.mktorest.com'], allowInsecureLoopback: false },
      },
    };
    expect(withoutTokens(readRuntimeConfig(environments.vend))).toEqual(expected);
    const { refreshQueue, ...refresh } = withoutTokens(readRuntimeConfig(environments.refresh));
    expect(refresh).toEqual(expected);
    expect(refreshQueue).toEqual({ queueUrl: '<REFRESH_QUEUE_URL>', batchSize: 100 });
  });

  it('gives each prop to the setting it names', () => {
    const environments = functionEnvironments({
      secretPrefix: 'team-a/marketo/',
      defaultMinValiditySeconds: 90,
      maxWait: Duration.seconds(20),
      leaseDuration: Duration.seconds(30),
      identityTimeout: Duration.seconds(8),
      identityAllowedHosts: ['*.mktorest.com', 'identity.example.com'],
      refreshSchedule: Duration.minutes(5),
      refreshConcurrency: 24,
      refreshFanOutThreshold: 200,
      refreshBatchSize: 1_000,
    });
    const refresh = withoutTokens(readRuntimeConfig(environments.refresh));
    expect(refresh).toEqual({
      tableName: '<table>',
      secretPrefix: 'team-a/marketo/',
      maxWaitMs: 20_000,
      refreshHorizonMs: 300_000,
      refreshConcurrency: 24,
      refreshQueue: { queueUrl: '<REFRESH_QUEUE_URL>', batchSize: 1_000 },
      vendor: {
        defaultMinValiditySeconds: 90,
        defaultMaxWaitMs: 20_000,
        leaseDurationMs: 30_000,
        identityTimeoutMs: 8_000,
        identityUrlPolicy: {
          allowedHosts: ['*.mktorest.com', 'identity.example.com'],
          allowInsecureLoopback: false,
        },
      },
    });
    const { refreshQueue: _, ...shared } = refresh;
    expect(withoutTokens(readRuntimeConfig(environments.vend))).toEqual(shared);
  });

  it('gives the vend function the Bulk API limits of budget.bulkLimits, as readBulkConfig reads them', () => {
    const environments = functionEnvironments({
      budget: {
        bulkLimits: { default: { reservedShare: 0.2 }, '123-abc-456.mktorest.com': { extractJobs: 6 } },
      },
    });
    expect(readBulkConfig(environments.vend)).toEqual({
      limits: { default: { reservedShare: 0.2 }, '123-abc-456.mktorest.com': { extractJobs: 6 } },
    });
    expect(readBulkConfig(functionEnvironments({}).vend)).toEqual({ limits: {} });
  });

  it('gives the vend function budget.reconcileInterval as the interval readBudgetConfig reads', () => {
    const environments = functionEnvironments({ budget: { reconcileInterval: Duration.minutes(1) } });

    expect(readBudgetConfig(environments.vend).reconcileIntervalMs).toBe(60_000);
    expect(readBudgetConfig(functionEnvironments({}).vend).reconcileIntervalMs).toBe(300_000);
  });

  it.each([
    [Duration.millis(500), 'budget.reconcileInterval must be whole seconds from 1 to 86400, got 0.5 s'],
    [Duration.days(2), 'budget.reconcileInterval must be whole seconds from 1 to 86400, got 172800 s'],
  ])('refuses at synthesis a reconcile interval of %s', (interval, message) => {
    expect(() => functionEnvironments({ budget: { reconcileInterval: interval } })).toThrow(message);
  });

  it("refuses at synthesis a Bulk limit past Marketo's queue, naming the instance and the field", () => {
    expect(() => functionEnvironments({ budget: { bulkLimits: { default: { extractJobs: 12 } } } })).toThrow(
      'budget.bulkLimits["default"]: extractJobs must be a whole number from 1 to 10, got 12',
    );
  });
});
