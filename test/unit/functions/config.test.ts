import { describe, expect, it } from 'vitest';
import { ConfigurationError, readBudgetConfig, readRuntimeConfig } from '../../../functions/config.js';
import {
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_SECRET_PREFIX,
  ENV,
  LEASE_DURATION_MS_RANGE,
} from '../../../functions/contract/index.js';

const base = { [ENV.tableName]: 'tokens' };

describe('readRuntimeConfig', () => {
  it('fills every default from the contract when only the table is set', () => {
    expect(readRuntimeConfig(base)).toEqual({
      tableName: 'tokens',
      secretPrefix: DEFAULT_SECRET_PREFIX,
      maxWaitMs: 24_000,
      refreshHorizonMs: 60_000,
      refreshConcurrency: 16,
      vendor: {
        defaultMinValiditySeconds: 20,
        defaultMaxWaitMs: 24_000,
        leaseDurationMs: 15_000,
        identityTimeoutMs: 5_000,
        identityUrlPolicy: { allowedHosts: [...DEFAULT_IDENTITY_HOSTS], allowInsecureLoopback: false },
      },
    });
  });

  it('reads every variable the construct sets', () => {
    const config = readRuntimeConfig({
      [ENV.tableName]: 't',
      [ENV.secretPrefix]: 'p/',
      [ENV.maxWaitMs]: '10000',
      [ENV.refreshHorizonSeconds]: '120',
      [ENV.refreshConcurrency]: '4',
      [ENV.defaultMinValiditySeconds]: '30',
      [ENV.leaseDurationMs]: '20000',
      [ENV.identityTimeoutMs]: '3000',
      [ENV.identityAllowedHosts]: ' a.example.com , *.mktorest.com ,',
      [ENV.identityAllowInsecureLoopback]: 'true',
      [ENV.refreshQueueUrl]: 'https://sqs.local/q',
      [ENV.refreshBatchSize]: '25',
    });
    expect(config).toEqual({
      tableName: 't',
      secretPrefix: 'p/',
      maxWaitMs: 10_000,
      refreshHorizonMs: 120_000,
      refreshConcurrency: 4,
      refreshQueue: { queueUrl: 'https://sqs.local/q', batchSize: 25 },
      vendor: {
        defaultMinValiditySeconds: 30,
        defaultMaxWaitMs: 10_000,
        leaseDurationMs: 20_000,
        identityTimeoutMs: 3_000,
        identityUrlPolicy: { allowedHosts: ['a.example.com', '*.mktorest.com'], allowInsecureLoopback: true },
      },
    });
  });

  it('has no refresh queue without a queue URL', () => {
    expect(readRuntimeConfig({ ...base, [ENV.refreshBatchSize]: '25' }).refreshQueue).toBeUndefined();
  });

  it('refuses a missing table name, naming the variable', () => {
    expect(() => readRuntimeConfig({})).toThrow(
      new ConfigurationError('TABLE_NAME must be set to the token table name'),
    );
  });

  it('refuses a lease longer than the contract allows (60 s), naming the range', () => {
    expect(() =>
      readRuntimeConfig({ ...base, [ENV.leaseDurationMs]: String(LEASE_DURATION_MS_RANGE.max + 1) }),
    ).toThrow('LEASE_DURATION_MS must be a whole number from 1000 to 60000, got "60001"');
  });

  it.each([
    [ENV.maxWaitMs, '1.5'],
    [ENV.defaultMinValiditySeconds, '3501'],
    [ENV.refreshConcurrency, '0'],
    [ENV.identityTimeoutMs, 'abc'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => readRuntimeConfig({ ...base, [name]: value })).toThrow(ConfigurationError);
  });

  it('refuses an allowlist that names no host', () => {
    expect(() => readRuntimeConfig({ ...base, [ENV.identityAllowedHosts]: ' , ' })).toThrow(
      'IDENTITY_ALLOWED_HOSTS must name at least one host',
    );
  });

  it('treats an empty variable as unset', () => {
    expect(readRuntimeConfig({ ...base, [ENV.maxWaitMs]: '' }).maxWaitMs).toBe(24_000);
  });
});

describe('readBudgetConfig', () => {
  it('turns the budget off (unmetered permits) and fails open when no budget table is set', () => {
    expect(readBudgetConfig({})).toEqual({
      limits: { default: { enabled: false } },
      onStoreFailure: 'open',
      reconcileIntervalMs: 300_000,
    });
  });

  it('keeps per-instance limits keyed by lower-case host and reads the store-failure mode', () => {
    expect(
      readBudgetConfig({
        [ENV.budgetTableName]: 'budget',
        [ENV.budgetOnStoreFailure]: 'closed',
        [ENV.budgetLimits]:
          '{"ABC-123.mktorest.com": {"callsPerWindow": 50}, "default": {"reservedShare": 0.2}}',
      }),
    ).toEqual({
      tableName: 'budget',
      limits: { 'abc-123.mktorest.com': { callsPerWindow: 50 }, default: { reservedShare: 0.2 } },
      onStoreFailure: 'closed',
      reconcileIntervalMs: 300_000,
    });
  });

  it('reads how often an instance is reconciled with Marketo, naming the variable when out of range', () => {
    expect(readBudgetConfig({ [ENV.budgetReconcileSeconds]: '60' }).reconcileIntervalMs).toBe(60_000);
    expect(() => readBudgetConfig({ [ENV.budgetReconcileSeconds]: '0' })).toThrow(
      new ConfigurationError(`${ENV.budgetReconcileSeconds} must be a whole number from 1 to 86400, got "0"`),
    );
  });

  it('names the variable when the store-failure mode is neither open nor closed', () => {
    expect(() => readBudgetConfig({ [ENV.budgetOnStoreFailure]: 'maybe' })).toThrow(
      new ConfigurationError(`${ENV.budgetOnStoreFailure} must be "open" or "closed", got "maybe"`),
    );
  });

  it('names the variable and the instance when a limit is out of range', () => {
    expect(() => readBudgetConfig({ [ENV.budgetLimits]: '{"default": {"concurrentCalls": 0}}' })).toThrow(
      new ConfigurationError(
        `${ENV.budgetLimits} for "default": concurrentCalls must be a whole number from 1 to 1000, got 0`,
      ),
    );
  });

  it('names the variable when the limits are not JSON', () => {
    expect(() => readBudgetConfig({ [ENV.budgetLimits]: '{nope' })).toThrow(
      new ConfigurationError(`${ENV.budgetLimits} must be JSON like {"default": {"reservedShare": 0.2}}`),
    );
  });
});
