import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import {
  BUDGET_RECONCILE_SECONDS_RANGE,
  type BulkLimits,
  bulkLimitsOverrideProblem,
  type InstanceLimits,
  limitsOverrideProblem,
} from '../functions/contract/index.js';
import { DEFAULT_API_THROTTLE } from './token-api.js';
import type { TokenVendorStackProps, VendGrant } from './token-vendor-stack.js';
import type { VendorBudgetProps } from './vendor-budget.js';

/** Prefix of every context key the app reads (`cdk.json` → `context`, or `cdk synth -c key=value`). */
export const CONTEXT_PREFIX = 'marketo-token-vendor:';

/**
 * The context keys the app understands, documented in docs/deploy.md. Values may be JSON (from
 * `cdk.json`) or strings (from `-c`): lists accept comma-separated strings, numbers and booleans
 * accept their string forms.
 */
export const CONTEXT_KEYS = [
  'stackName',
  'account',
  'region',
  'secretPrefix',
  'refreshScheduleMinutes',
  'defaultMinValiditySeconds',
  'leaseDurationSeconds',
  'identityAllowedHosts',
  'apiRateLimit',
  'apiBurstLimit',
  'allowedAccounts',
  'organizationId',
  'allowedPrincipalArns',
  'vendGrants',
  'tableKmsKeyArn',
  'alarmTopicArn',
  'logRetentionDays',
  'removalPolicy',
  'pointInTimeRecovery',
  'memorySize',
  'vendReservedConcurrency',
  'vendProvisionedConcurrency',
  'stageName',
  'serviceName',
  'dashboard',
  'refreshFanOutThreshold',
  'refreshBatchSize',
  'refreshWorkerConcurrency',
  'vpcEndpointIds',
  'apiName',
  'apiGatewayCloudWatchRole',
  'budget',
] as const;
/** One of {@link CONTEXT_KEYS}. */
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** The stack's name and properties, as configured. */
export interface AppConfig {
  readonly stackName: string;
  readonly stackProps: TokenVendorStackProps;
}

type Lookup = (key: ContextKey) => unknown;

const fail = (key: ContextKey, expected: string, value: unknown): never => {
  throw new Error(`context ${CONTEXT_PREFIX}${key} must be ${expected}, got ${JSON.stringify(value)}`);
};

const str = (get: Lookup, key: ContextKey): string | undefined => {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : fail(key, 'a string', value);
};

const num = (get: Lookup, key: ContextKey): number | undefined => {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : fail(key, 'a number', value);
};

const bool = (get: Lookup, key: ContextKey): boolean | undefined => {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, 'true or false', value);
};

const list = (get: Lookup, key: ContextKey): string[] | undefined => {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  const items = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    return fail(key, 'a list of strings or a comma-separated string', value);
  }
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
};

/** `[{ principalArn, clientIds?, instances? }]`, as JSON in cdk.json or a JSON string with `-c`. */
const vendGrants = (get: Lookup): VendGrant[] | undefined => {
  const value = get('vendGrants');
  if (value === undefined || value === null || value === '') return undefined;
  const expected = 'a list of {"principalArn": "arn:…", "clientIds": [...], "instances": [...]}';
  let items: unknown = value;
  if (typeof value === 'string') {
    try {
      items = JSON.parse(value);
    } catch {
      return fail('vendGrants', expected, value);
    }
  }
  const strings = (v: unknown): v is string[] =>
    v === undefined || (Array.isArray(v) && v.every((item) => typeof item === 'string'));
  if (!Array.isArray(items)) return fail('vendGrants', expected, value);
  return items.map((item: unknown) => {
    const grant = item as Partial<Record<keyof VendGrant, unknown>> | null;
    if (
      grant === null ||
      typeof grant !== 'object' ||
      typeof grant.principalArn !== 'string' ||
      !strings(grant.clientIds) ||
      !strings(grant.instances)
    ) {
      return fail('vendGrants', expected, item);
    }
    return { principalArn: grant.principalArn, clientIds: grant.clientIds, instances: grant.instances };
  });
};

/** An object given as JSON in cdk.json, or as a JSON string with `-c`; `undefined` when unset. */
const jsonObject = (get: Lookup, key: ContextKey, expected: string): Record<string, unknown> | undefined => {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return fail(key, expected, value);
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : fail(key, expected, value);
};

/** One instance's limits, validated as the runtime does (the message names the field and the value). */
const checkedLimits = (
  path: string,
  entry: Record<string, unknown>,
  budgetFail: (path: string, message: string) => never,
): Partial<InstanceLimits> => {
  const problem = limitsOverrideProblem(entry);
  if (problem !== undefined) return budgetFail(`${path}:`, problem);
  return entry as Partial<InstanceLimits>;
};

const BUDGET_FIELDS = [
  'enabled',
  'reservedShare',
  'limits',
  'onStoreFailure',
  'dailyQuotaAlarmPercent',
  'reconcileIntervalSeconds',
  'bulkLimits',
];
/** An instance's REST host (`123-abc-456.mktorest.com`, a port for local ones), or `default` for all. */
const INSTANCE_KEY = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

/**
 * The shared Marketo API budget: `{"enabled"?, "reservedShare"?, "limits"?, "onStoreFailure"?,
 * "dailyQuotaAlarmPercent"?, "reconcileIntervalSeconds"?, "bulkLimits"?}`. `enabled` and `reservedShare` apply
 * to every instance (they are `limits.default`'s, so give each in one place only); `limits` and `bulkLimits`
 * set Marketo's limits per instance (REST host, or `default`).
 */
const budget = (get: Lookup): VendorBudgetProps | undefined => {
  const value = jsonObject(
    get,
    'budget',
    'an object like {"enabled": true, "reservedShare": 0.2, "limits": {"<rest host>": {"callsPerWindow": 100}}}',
  );
  if (value === undefined) return undefined;
  const budgetFail = (path: string, message: string): never => {
    throw new Error(`context ${CONTEXT_PREFIX}budget${path} ${message}`);
  };
  const unknown = Object.keys(value).filter((field) => !BUDGET_FIELDS.includes(field));
  if (unknown.length > 0) {
    budgetFail('', `has unknown fields ${JSON.stringify(unknown)} (known: ${BUDGET_FIELDS.join(', ')})`);
  }
  /** `budget.<field>`: an object keyed by instance REST host or `default`, each entry read by `entryOf`. */
  const perInstance = <T>(
    field: string,
    raw: unknown,
    what: string,
    entryOf: (path: string, entry: Record<string, unknown>) => T,
  ): Record<string, T> => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      budgetFail(
        `.${field}`,
        `must be an object keyed by instance REST host or "default", got ${JSON.stringify(raw)}`,
      );
    }
    const byInstance: Record<string, T> = {};
    for (const [instance, entry] of Object.entries(raw as Record<string, unknown>)) {
      if (instance !== 'default' && !INSTANCE_KEY.test(instance)) {
        budgetFail(
          `.${field}`,
          `keys must be an instance's REST host (e.g. 123-abc-456.mktorest.com) or "default", got ${JSON.stringify(instance)}`,
        );
      }
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        budgetFail(`.${field}["${instance}"]`, `must be an object of ${what}, got ${JSON.stringify(entry)}`);
      }
      byInstance[instance] = entryOf(`.${field}["${instance}"]`, entry as Record<string, unknown>);
    }
    return byInstance;
  };
  const limits: Record<string, Partial<InstanceLimits>> = value.limits === undefined
    ? {}
    : perInstance('limits', value.limits, 'limits', (path, entry) => checkedLimits(path, entry, budgetFail));
  for (const field of ['enabled', 'reservedShare'] as const) {
    if (value[field] === undefined) continue;
    if (limits.default?.[field] !== undefined) {
      budgetFail(`.${field}`, `is limits.default.${field}: give it in one place, got both`);
    }
    limits.default = { ...limits.default, ...checkedLimits('', { [field]: value[field] }, budgetFail) };
  }
  const onStoreFailure = value.onStoreFailure;
  if (onStoreFailure !== undefined && onStoreFailure !== 'open' && onStoreFailure !== 'closed') {
    budgetFail('.onStoreFailure', `must be "open" or "closed", got ${JSON.stringify(onStoreFailure)}`);
  }
  const percent = value.dailyQuotaAlarmPercent;
  if (percent !== undefined && !(typeof percent === 'number' && percent > 0 && percent <= 100)) {
    budgetFail('.dailyQuotaAlarmPercent', `must be a number from 1 to 100, got ${JSON.stringify(percent)}`);
  }
  const reconcile = value.reconcileIntervalSeconds;
  const { min, max } = BUDGET_RECONCILE_SECONDS_RANGE;
  if (
    reconcile !== undefined &&
    !(Number.isInteger(reconcile) && (reconcile as number) >= min && (reconcile as number) <= max)
  ) {
    budgetFail(
      '.reconcileIntervalSeconds',
      `must be a whole number from ${min} to ${max}, got ${JSON.stringify(reconcile)}`,
    );
  }
  const bulkLimits =
    value.bulkLimits === undefined
      ? undefined
      : perInstance('bulkLimits', value.bulkLimits, 'Bulk limits', (path, entry) => {
          const problem = bulkLimitsOverrideProblem(entry as Partial<BulkLimits>);
          if (problem !== undefined) budgetFail(`${path}:`, problem);
          return entry as Partial<BulkLimits>;
        });
  return {
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(reconcile === undefined ? {} : { reconcileInterval: Duration.seconds(reconcile as number) }),
    ...(bulkLimits === undefined ? {} : { bulkLimits }),
    ...(onStoreFailure === undefined ? {} : { onStoreFailure: onStoreFailure as 'open' | 'closed' }),
    ...(percent === undefined ? {} : { dailyQuotaAlarmPercent: percent as number }),
  };
};

/** A reserved concurrency (a number, or its string form) or `false` for none. */
const reservedConcurrency = (get: Lookup): number | false | undefined => {
  const value = get('vendReservedConcurrency');
  if (value === false || value === 'false') return false;
  return num(get, 'vendReservedConcurrency');
};

const retention = (get: Lookup): logs.RetentionDays | undefined => {
  const days = num(get, 'logRetentionDays');
  if (days === undefined) return undefined;
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  return allowed.includes(days)
    ? (days as logs.RetentionDays)
    : fail('logRetentionDays', `one of ${allowed.join(', ')}`, days);
};

const removal = (get: Lookup): RemovalPolicy | undefined => {
  const value = str(get, 'removalPolicy');
  if (value === undefined) return undefined;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  return fail('removalPolicy', '"retain" or "destroy"', value);
};

/** Reads the app configuration from construct context (`node.tryGetContext`). */
export function configFromContext(node: Pick<Node, 'tryGetContext'>): AppConfig {
  const get: Lookup = (key) => node.tryGetContext(`${CONTEXT_PREFIX}${key}`);
  const account = str(get, 'account');
  const region = str(get, 'region');
  const rateLimit = num(get, 'apiRateLimit');
  const burstLimit = num(get, 'apiBurstLimit');
  const refreshMinutes = num(get, 'refreshScheduleMinutes');
  const leaseSeconds = num(get, 'leaseDurationSeconds');
  return {
    stackName: str(get, 'stackName') ?? 'MarketoTokenVendor',
    stackProps: {
      description: 'Marketo token vendor: vends Marketo REST API access tokens to AWS workloads',
      // Environment-agnostic unless both are configured.
      env: account !== undefined || region !== undefined ? { account, region } : undefined,
      tableKmsKeyArn: str(get, 'tableKmsKeyArn'),
      alarmTopicArn: str(get, 'alarmTopicArn'),
      allowedPrincipalArns: list(get, 'allowedPrincipalArns'),
      vendGrants: vendGrants(get),
      vpcEndpointIds: list(get, 'vpcEndpointIds'),
      vendor: {
        secretPrefix: str(get, 'secretPrefix'),
        refreshSchedule: refreshMinutes === undefined ? undefined : Duration.minutes(refreshMinutes),
        defaultMinValiditySeconds: num(get, 'defaultMinValiditySeconds'),
        leaseDuration: leaseSeconds === undefined ? undefined : Duration.seconds(leaseSeconds),
        identityAllowedHosts: list(get, 'identityAllowedHosts'),
        apiThrottle:
          rateLimit === undefined && burstLimit === undefined
            ? undefined
            : {
                rateLimit: rateLimit ?? DEFAULT_API_THROTTLE.rateLimit,
                burstLimit: burstLimit ?? DEFAULT_API_THROTTLE.burstLimit,
              },
        allowedAccounts: list(get, 'allowedAccounts'),
        organizationId: str(get, 'organizationId'),
        logRetention: retention(get),
        removalPolicy: removal(get),
        pointInTimeRecovery: bool(get, 'pointInTimeRecovery'),
        memorySize: num(get, 'memorySize'),
        vendReservedConcurrency: reservedConcurrency(get),
        vendProvisionedConcurrency: num(get, 'vendProvisionedConcurrency'),
        stageName: str(get, 'stageName'),
        serviceName: str(get, 'serviceName'),
        dashboard: bool(get, 'dashboard'),
        apiName: str(get, 'apiName'),
        apiGatewayCloudWatchRole: bool(get, 'apiGatewayCloudWatchRole'),
        refreshFanOutThreshold: num(get, 'refreshFanOutThreshold'),
        refreshBatchSize: num(get, 'refreshBatchSize'),
        refreshWorkerConcurrency: num(get, 'refreshWorkerConcurrency'),
        budget: budget(get),
      },
    },
  };
}
