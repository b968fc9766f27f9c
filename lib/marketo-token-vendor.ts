import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  API_TOKEN_ROTATING_METRIC,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_SECRET_PREFIX,
  DEFAULT_VEND_RESERVED_CONCURRENCY,
  type GrantScope,
  METRICS_NAMESPACE,
  REFRESH_INDEX,
  REFRESH_TIMEOUT_SECONDS,
  routePath,
  routesGrantedBy,
  VEND_TIMEOUT_TAIL_MS,
} from '../functions/contract/index.js';
import { type GrantRequest, grantRoutes } from './api-authorization.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';
import { createRefreshFanOut, createRefreshSchedule, grantRefreshIndexQuery } from './refresh-fan-out.js';
import { createTokenApi } from './token-api.js';
import { createAlarms } from './vendor-alarms.js';
import {
  budgetEnvironment,
  createBudgetAlarm,
  createBudgetTable,
  grantBudgetAccess,
  validateBudgetProps,
} from './vendor-budget.js';
import { createDashboard } from './vendor-dashboard.js';
import {
  createVendorFunction,
  functionEntry,
  grantRuntimeAccess,
  runtimeEnvironment,
} from './vendor-functions.js';
import { check, validateProps } from './vendor-validation.js';

/**
 * `<stack name>-<path in the stack>`: unique in an account and region, as stack names are. The default API
 * name and service name, so two vendors never share metrics.
 */
const uniqueDefaultName = (vendor: Construct): string => {
  const stack = Stack.of(vendor);
  const path = vendor.node.scopes
    .slice(vendor.node.scopes.indexOf(stack) + 1)
    .map((scope) => scope.node.id)
    .join('-');
  return `${stack.stackName}-${path}`;
};

/** The routes a grant on `name` covers (the route table's rows of that scope): token, invalidate, permits, bulk slots. */
const grantedPaths = (scope: GrantScope, name: string): Array<{ method: string; path: string }> =>
  routesGrantedBy(scope).map((route) => ({ method: route.method, path: routePath(route, name) }));

/**
 * Vends Marketo REST API access tokens to other AWS workloads.
 *
 * Creates: a DynamoDB token table (pay-per-request, TTL on `ttl`, KMS-encrypted) and a budget table (one
 * item per Marketo instance); the `vend` and `refresh` functions (Node.js 24 on arm64, ESM bundles built by
 * the locally installed esbuild, X-Ray tracing, own log groups); a REST API where every method requires SigV4
 * (`AWS_IAM`), with a resource policy, request validation, stage throttling, access logs, tracing and no
 * response caching, serving the routes of the contract's route table (functions/contract/routes.ts):
 * - `GET /tokens/{clientId}` and `POST /tokens/{clientId}/invalidate`: a client's token, and reporting one
 *   Marketo rejected (601/602);
 * - `GET /instances/{instance}/token` and `POST /instances/{instance}/invalidate`: the same for an instance pool;
 * - `POST /tokens/{clientId}/permits`, `POST /tokens/{clientId}/permits/release`,
 *   `POST /instances/{instance}/permits` and `POST /instances/{instance}/permits/release`: permits of the
 *   instance's shared Marketo API budget, served by the vend function too;
 * - `POST /tokens/{clientId}/bulk-slots`, `POST /tokens/{clientId}/bulk-slots/renew`,
 *   `POST /tokens/{clientId}/bulk-slots/release` and the same under `POST /instances/{instance}/bulk-slots`
 *   (`POST /instances/{instance}/bulk-slots/renew`, `POST /instances/{instance}/bulk-slots/release`): places
 *   in the instance's Bulk Extract and Import queues and its daily export quota, on the budget table;
 *
 * an EventBridge schedule for the refresher, with its SQS fan-out queue and dead-letter queue; CloudWatch
 * alarms; and a dashboard.
 *
 * Consumers are granted with {@link grantVend} / {@link grantVendInstance} (API; {@link grantVendAll} /
 * {@link grantVendAllInstances} for every client or pool) or {@link grantInvoke} (direct Lambda invoke, not
 * scoped per client).
 */
export class MarketoTokenVendor extends Construct {
  /** Tokens and refresh leases, one item per client id. */
  public readonly table: dynamodb.Table;
  /** The Marketo API budget's state: one item per instance (window, leases, daily count). */
  public readonly budgetTable: dynamodb.Table;
  /** The REST API consumers call with SigV4. */
  public readonly api: apigateway.RestApi;
  /** Serves the API and direct invokes. */
  public readonly vendFunction: nodejs.NodejsFunction;
  /** The vend function's alias with provisioned concurrency, when `vendProvisionedConcurrency` is set. */
  public readonly vendAlias?: lambda.Alias;
  /** Runs on the schedule and keeps every registered client's token fresh. */
  public readonly refreshFunction: nodejs.NodejsFunction;
  /** Fan-out batches of the refresher (SSE, TLS only, with a dead-letter queue). */
  public readonly refreshQueue: sqs.Queue;
  /** Where refresh batches land after three failed deliveries (alarmed). */
  public readonly refreshDeadLetterQueue: sqs.Queue;
  /** Every alarm this construct created. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** Name prefix of the client secrets. */
  public readonly secretPrefix: string;
  /** Powertools service name (the `service` metric dimension). */
  public readonly serviceName: string;

  /** Name of the API stage (part of every execute-api ARN). */
  public readonly stageName: string;
  /** The operations dashboard, unless `dashboard: false`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** How often the refresher's scheduled run reads the refresh index (`refreshSchedule`). */
  public readonly refreshPeriod: Duration;

  constructor(scope: Construct, id: string, props: MarketoTokenVendorProps = {}) {
    super(scope, id);
    validateProps(props);
    validateBudgetProps(props.budget);

    this.secretPrefix = props.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    this.serviceName = props.serviceName ?? uniqueDefaultName(this);
    this.stageName = props.stageName ?? 'v1';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const refreshPeriod = props.refreshSchedule ?? Duration.minutes(1);
    this.refreshPeriod = refreshPeriod;
    const maxWait = props.maxWait ?? Duration.millis(DEFAULT_MAX_WAIT_MS);
    const pointInTimeRecovery = props.pointInTimeRecovery ?? false;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'clientId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pointInTimeRecovery },
      removalPolicy,
    });
    // The refresh index: every token's successor's due instant, so a scheduled run reads only what is due.
    this.table.addGlobalSecondaryIndex({
      indexName: REFRESH_INDEX.name,
      partitionKey: { name: REFRESH_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: REFRESH_INDEX.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['instance'],
    });
    if (!pointInTimeRecovery) {
      Validations.of(this.table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'The table is a cache: every item can be rebuilt from Marketo Identity, and backups would only keep bearer tokens around (see MarketoTokenVendorProps.pointInTimeRecovery).',
      });
    }

    const environment = runtimeEnvironment(props, {
      tableName: this.table.tableName,
      secretPrefix: this.secretPrefix,
      serviceName: this.serviceName,
      maxWait,
      refreshPeriod,
    });

    this.budgetTable = createBudgetTable(this, { encryptionKey: props.encryptionKey, removalPolicy });
    this.vendFunction = createVendorFunction(this, 'Vend', {
      entry: functionEntry('vend'),
      // A cold start serves a stored token without loading the SDK: keep it out of the start-up file.
      splitCode: true,
      description: 'Vends Marketo access tokens (API Gateway and direct invoke)',
      // Covers the longest wait a caller may be given, plus the final Identity call's tail, in whole seconds
      // (Lambda's unit); validation keeps it within API Gateway's integration timeout.
      timeout: Duration.seconds(Math.ceil((maxWait.toMilliseconds() + VEND_TIMEOUT_TAIL_MS) / 1000)),
      reservedConcurrentExecutions:
        props.vendReservedConcurrency === false
          ? undefined
          : (props.vendReservedConcurrency ?? DEFAULT_VEND_RESERVED_CONCURRENCY),
      memorySize: props.memorySize ?? 512,
      // The permit routes of the Marketo API budget are served by the vend function too.
      environment: { ...environment, ...budgetEnvironment(this.budgetTable, props.budget) },
      logRetention,
      removalPolicy,
    });
    this.refreshFunction = createVendorFunction(this, 'Refresh', {
      entry: functionEntry('refresh'),
      description: 'Keeps every registered Marketo client token fresh (scheduled)',
      timeout: Duration.seconds(REFRESH_TIMEOUT_SECONDS),
      memorySize: props.memorySize ?? 512,
      environment,
      logRetention,
      removalPolicy,
      // A failed sweep is repeated by the next scheduled run; async retries would only pile up runs.
      retryAttempts: 0,
    });

    grantRuntimeAccess(this, this.vendFunction, this.table, this.secretPrefix, props.encryptionKey);
    grantBudgetAccess(this.vendFunction, this.budgetTable);
    grantRuntimeAccess(this, this.refreshFunction, this.table, this.secretPrefix, props.encryptionKey);
    grantRefreshIndexQuery(this.refreshFunction, this.table);
    [this.refreshQueue, this.refreshDeadLetterQueue] = createRefreshFanOut(this, this.refreshFunction, props);

    if (props.vendProvisionedConcurrency !== undefined) {
      this.vendAlias = this.vendFunction.addAlias('live', {
        provisionedConcurrentExecutions: props.vendProvisionedConcurrency,
      });
    }

    this.api = createTokenApi(this, {
      props,
      stageName: this.stageName,
      apiName: props.apiName ?? uniqueDefaultName(this),
      // With provisioned concurrency, callers must reach the alias its warm environments serve.
      vendFunction: this.vendAlias ?? this.vendFunction,
      logRetention,
      removalPolicy,
    });
    createRefreshSchedule(this, this.refreshFunction, refreshPeriod);

    this.alarms.push(...createAlarms(this, props.alarmTopic));
    this.alarms.push(createBudgetAlarm(this, props.budget, props.alarmTopic));
    if (props.dashboard ?? true) this.dashboard = createDashboard(this);
  }

  /**
   * Lets `grantee` call, for exactly the given client ids (at least one: an empty list fails, use
   * {@link grantVendAll} for every client), every route a client grant covers (the route table's
   * `grant: 'client'` rows): `GET /tokens/{clientId}`, `POST /tokens/{clientId}/invalidate` and the budget's
   * `POST /tokens/{clientId}/permits` and `POST /tokens/{clientId}/permits/release`, and the Bulk API slots'
   * `POST /tokens/{clientId}/bulk-slots`, `POST /tokens/{clientId}/bulk-slots/renew` and
   * `POST /tokens/{clientId}/bulk-slots/release`. A role of the API's
   * account whose IAM policy the stack can write gets an IAM statement; a role of another account, or one the
   * stack cannot change, gets a resource-policy Allow naming exactly it on exactly these routes (another
   * account must still allow it in IAM, and be admitted by `allowedAccounts`, `organizationId` or
   * `allowedPrincipals`, or synthesis fails). A role imported by ARN from another account
   * (`iam.Role.fromRoleArn`) gets the resource-policy side only, also in a stack with no account set.
   *
   * Fails synthesis for a grantee that stands for more than one role: a wildcard (`AnyPrincipal`,
   * `StarPrincipal`, `ArnPrincipal('*')`, any ARN with `*`), an `OrganizationPrincipal`, an account
   * (`AccountPrincipal`, `AccountRootPrincipal`, `…:root`) or a principal with conditions.
   */
  public grantVend(grantee: iam.IGrantable, ...clientIds: string[]): iam.Grant {
    return this.grantRoutes(grantee, { method: 'grantVend', what: 'clientId', names: clientIds });
  }

  /**
   * Lets `grantee` vend EVERY client, current and future (`/tokens/*` on the token, invalidate, permit and
   * Bulk slot routes); not the pool routes. Same grantee rules as {@link grantVend}. Prefer naming the clients.
   */
  public grantVendAll(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, { method: 'grantVendAll', what: 'clientId', names: 'every' });
  }

  /**
   * Lets `grantee` call, for exactly the given instances (at least one: use {@link grantVendAllInstances}
   * for every pool), every route an instance grant covers: `GET /instances/{instance}/token` (a token of any
   * client in the instance's pool), `POST /instances/{instance}/invalidate` and the budget's
   * `POST /instances/{instance}/permits` and `POST /instances/{instance}/permits/release`, and the Bulk API
   * slots' `POST /instances/{instance}/bulk-slots`, `POST /instances/{instance}/bulk-slots/renew` and
   * `POST /instances/{instance}/bulk-slots/release`. It does not open
   * the members' per-client routes. Same grantee rules as {@link grantVend}.
   */
  public grantVendInstance(grantee: iam.IGrantable, ...instances: string[]): iam.Grant {
    return this.grantRoutes(grantee, { method: 'grantVendInstance', what: 'instance', names: instances });
  }

  /**
   * Lets `grantee` vend from EVERY instance pool, current and future (`/instances/*`); not the per-client
   * routes. Same grantee rules as {@link grantVend}. Prefer naming the instances.
   */
  public grantVendAllInstances(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, { method: 'grantVendAllInstances', what: 'instance', names: 'every' });
  }

  /** The routes a grant covers (the contract's table), in IAM and/or the API's resource policy. */
  private grantRoutes(grantee: iam.IGrantable, request: GrantRequest): iam.Grant {
    const scope: GrantScope = request.what === 'clientId' ? 'client' : 'instance';
    return grantRoutes(this.api, this.stageName, grantee, request, (name) => grantedPaths(scope, name));
  }

  /**
   * Lets `grantee` invoke the vend function directly (`{clientId, minValidity?}`).
   *
   * Caution: a direct invoke can vend a token for ANY registered client; IAM cannot scope it per client.
   * Prefer {@link grantVend} unless the grantee is trusted with every client.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return (this.vendAlias ?? this.vendFunction).grantInvoke(grantee);
  }

  /** Calls to Marketo Identity (custom metric `IdentityCalls`, Sum over 5 minutes). */
  public metricIdentityCalls(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('IdentityCalls', options);
  }

  /** Failed calls to Marketo Identity (custom metric `IdentityErrors`, Sum over 5 minutes). */
  public metricIdentityErrors(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('IdentityErrors', options);
  }

  /**
   * The refresher's backlog: refreshes due more than a minute ago and still not done, as each scheduled
   * run counts them (custom metric `RefreshOverdue`, Maximum over the schedule's period: one run each).
   */
  public metricRefreshOverdue(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RefreshOverdue', { statistic: 'Maximum', period: this.refreshPeriod, ...options });
  }

  /** Clients the refresher failed to refresh (custom metric `RefreshFailed`, Sum over 5 minutes). */
  public metricRefreshFailures(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RefreshFailed', options);
  }

  /**
   * API answers `503 TokenRotating` (custom metric `ApiTokenRotating`, Sum over 5 minutes): intended, when a
   * caller asks more validity than the wait budget allows near an expiry. `Api5xxAlarm` leaves them out.
   */
  public metricTokenRotatingAnswers(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(API_TOKEN_ROTATING_METRIC, options);
  }

  /**
   * Clients whose credentials Marketo Identity rejected, one time series per client id (custom metric
   * `ClientCredentialsRejected` with dimension `clientId`, Maximum over 5 minutes, as a Metrics Insights
   * query): 1 while the refresher finds the client rejected, including while it backs it off.
   */
  public metricCredentialsRejectedByClient(options?: {
    readonly period?: Duration;
  }): cloudwatch.MathExpression {
    check(
      !this.serviceName.includes("'"),
      `serviceName must not contain a single quote (it is quoted in a Metrics Insights query), got "${this.serviceName}"`,
    );
    return new cloudwatch.MathExpression({
      expression: `SELECT MAX(ClientCredentialsRejected) FROM SCHEMA("${METRICS_NAMESPACE}", clientId, service) WHERE service = '${this.serviceName}' GROUP BY clientId`,
      usingMetrics: {},
      label: 'credentials rejected',
      period: options?.period ?? Duration.minutes(5),
    });
  }

  /** Latency consumers see on the API (API Gateway `Latency`, p99 over 5 minutes). */
  public metricVendLatency(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricLatency({ statistic: 'p99', period: Duration.minutes(5), ...options });
  }

  /**
   * A custom metric the runtime emits (namespace `MarketoTokenVendor`, dimension `service` of this vendor),
   * e.g. `VendFromIdentity`, `IdentityLatencyMs`, `RefreshFailed` (docs/operations.md lists them all).
   * @default - Sum over 5 minutes
   */
  public metric(metricName: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...options,
    });
  }
}
