import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** API Gateway stage throttling. */
export interface ApiThrottle {
  /** Steady-state requests per second across all callers. */
  readonly rateLimit: number;
  /** Burst capacity (requests). */
  readonly burstLimit: number;
}

/**
 * Configuration of a {@link MarketoTokenVendor}. Every property is optional; defaults suit one
 * Marketo subscription with a handful of Custom Services.
 */
export interface MarketoTokenVendorProps {
  /**
   * Name prefix of the Secrets Manager secrets holding client credentials (one secret per client,
   * named `<prefix><clientId>`). Must end with `/` so that `<prefix>*` cannot match unrelated secrets.
   * @default 'marketo-token-vendor/clients/'
   */
  readonly secretPrefix?: string;
  /**
   * How often the refresher runs (a rate, whole minutes, 1–14). The refresher waits out tokens that
   * expire before its next run, so its timeout is this period plus 60 s.
   * @default Duration.minutes(1)
   */
  readonly refreshSchedule?: Duration;
  /**
   * Seconds of validity (0–3500) a vended token has at least when the caller does not say (`minValidity`).
   * @default 20
   */
  readonly defaultMinValiditySeconds?: number;
  /**
   * Longest a caller waits for a token (lease holder, expiry wait-out). Must fit API Gateway's 29 s
   * integration timeout.
   * @default Duration.seconds(25)
   */
  readonly maxWait?: Duration;
  /**
   * How long a refresh lease is held before other callers may take over. Must exceed `identityTimeout`.
   * @default Duration.seconds(15)
   */
  readonly leaseDuration?: Duration;
  /**
   * Timeout of one call to Marketo Identity.
   * @default Duration.seconds(5)
   */
  readonly identityTimeout?: Duration;
  /**
   * Host names Identity URLs may point at (SSRF guard); `*.` matches any subdomain.
   * @default ['*.mktorest.com']
   */
  readonly identityAllowedHosts?: string[];
  /**
   * How many clients the refresher handles at once.
   * @default 8
   */
  readonly refreshConcurrency?: number;
  /**
   * Above this many registered clients the scheduled refresher stops sweeping by itself and queues batches
   * on SQS, which refresh invocations sweep in parallel (so 10,000 clients fit in one schedule period).
   * @default 500
   */
  readonly refreshFanOutThreshold?: number;
  /**
   * Clients per fan-out batch (members of one instance pool always share a batch).
   * @default 100
   */
  readonly refreshBatchSize?: number;
  /**
   * Most refresh invocations sweeping fan-out batches at once (2–1000).
   * @default 10
   */
  readonly refreshWorkerConcurrency?: number;
  /**
   * Stage throttling of the REST API.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly apiThrottle?: ApiThrottle;
  /**
   * AWS account ids allowed by the API's resource policy (callers still need an IAM grant, see
   * `grantVend`). Setting any of `allowedAccounts`, `organizationId` or `allowedPrincipals` replaces
   * the default: include the stack's own account if its workloads call the API too.
   * @default - the stack's own account, when none of the three is set
   */
  readonly allowedAccounts?: string[];
  /**
   * AWS Organizations id (`o-…`) whose principals the API's resource policy allows.
   * @default - no organization-wide access
   */
  readonly organizationId?: string;
  /**
   * Individual principals (e.g. roles in other accounts) the API's resource policy allows.
   * @default - none
   */
  readonly allowedPrincipals?: iam.IPrincipal[];
  /**
   * Customer-managed KMS key for the token table. Both functions get `kms:Decrypt` on it (via DynamoDB only).
   * @default - the AWS-managed key `aws/dynamodb`
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * SNS topic notified when an alarm fires or recovers.
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Retention of the functions' and the API access logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the table and the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Point-in-time recovery of the token table. Off by default on purpose: the table is a cache whose
   * every item can be rebuilt from Marketo Identity (which hands back the live token), and backups would
   * only keep copies of bearer tokens around for 35 days.
   * @default false
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * Memory of both functions (MB). More memory also means more CPU for TLS and JSON.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Name of the API stage (part of every execute-api ARN).
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Powertools service name: the `service` dimension of the custom metrics and a field of every log line.
   * Give each deployment in one account and region its own name, or their metrics mix.
   * @default 'marketo-token-vendor'
   */
  readonly serviceName?: string;
  /**
   * Whether to create a CloudWatch dashboard of the vendor: vends by outcome, cache hit ratio, Identity
   * latency and errors, tokens' remaining life at vend, refresher summary, API 4xx/5xx/latency, Lambda
   * errors and throttles, the refresh dead-letter queue and every alarm.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Endpoint type of the REST API: `REGIONAL`, or `PRIVATE` for consumers in VPCs without internet egress
   * (reachable only through the `vpcEndpoints` given; the resource policy denies every other source).
   * Step Functions' API Gateway integration cannot reach a private API: workflows then invoke the vend
   * function directly or call a Lambda that uses the client.
   * @default apigateway.EndpointType.REGIONAL
   */
  readonly endpointType?: apigateway.EndpointType;
  /**
   * Interface VPC endpoints of `com.amazonaws.<region>.execute-api` through which a `PRIVATE` API is
   * reached (required, at least one, when `endpointType` is `PRIVATE`; not allowed otherwise). For an
   * endpoint made elsewhere use `ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes`.
   * @default - none (a regional API)
   */
  readonly vpcEndpoints?: ec2.IInterfaceVpcEndpoint[];
}

/** CloudWatch namespace of the metrics the runtime emits through Powertools (EMF). */
export const METRICS_NAMESPACE = 'MarketoTokenVendor';

const DEFAULT_SECRET_PREFIX = 'marketo-token-vendor/clients/';
/** Same alphabet as `functions/core/credentials.ts` so ARNs can never be built for ids the API rejects. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]+\/$/;
const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ACCOUNT_PATTERN = /^\d{12}$/;
const ORG_PATTERN = /^o-[a-z0-9]{10,32}$/;
/** API Gateway gives up on an integration after 29 s. */
const API_INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * The handler source esbuild bundles at synth time. In this repository the construct runs from lib/*.ts
 * and bundles functions/<name>.ts; from the published package it runs from dist/lib/*.js, where only the
 * compiled dist/functions/<name>.js ships. Same relative path, TypeScript preferred.
 */
const functionEntry = (name: string): string => {
  const source = fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL(`../functions/${name}.js`, import.meta.url));
};

/** Throws with a lowercase message showing the received value unless `ok`. */
function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const resolvedNumber = (value: number | undefined): value is number =>
  value !== undefined && !Token.isUnresolved(value);

/**
 * Vends Marketo REST API access tokens to other AWS workloads.
 *
 * Creates: a DynamoDB token table (pay-per-request, TTL on `ttl`, KMS-encrypted); the `vend` and `refresh`
 * functions (Node.js 24 on arm64, ESM bundles built by the locally installed esbuild, X-Ray tracing, own
 * log groups); a REST API (`GET /tokens/{clientId}`, `POST /tokens/{clientId}/invalidate`,
 * `GET /instances/{instance}/token`, `POST /instances/{instance}/invalidate`) where every method requires SigV4 (`AWS_IAM`), with a resource
 * policy, request validation, stage throttling, access logs, tracing and no response caching; an
 * EventBridge schedule for the refresher; and CloudWatch alarms.
 *
 * Consumers are granted with {@link grantVend} / {@link grantVendInstance} (API) or {@link grantInvoke}
 * (direct Lambda invoke, not scoped per client).
 */
export class MarketoTokenVendor extends Construct {
  /** Tokens and refresh leases, one item per client id. */
  public readonly table: dynamodb.Table;
  /** The REST API consumers call with SigV4. */
  public readonly api: apigateway.RestApi;
  /** Serves the API and direct invokes. */
  public readonly vendFunction: nodejs.NodejsFunction;
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

  constructor(scope: Construct, id: string, props: MarketoTokenVendorProps = {}) {
    super(scope, id);
    validateProps(props);

    this.secretPrefix = props.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    this.serviceName = props.serviceName ?? 'marketo-token-vendor';
    this.stageName = props.stageName ?? 'v1';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const refreshPeriod = props.refreshSchedule ?? Duration.minutes(1);
    const maxWait = props.maxWait ?? Duration.seconds(25);
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
    if (!pointInTimeRecovery) {
      Validations.of(this.table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'The table is a cache: every item can be rebuilt from Marketo Identity, and backups would only keep bearer tokens around (see MarketoTokenVendorProps.pointInTimeRecovery).',
      });
    }

    const environment: Record<string, string> = {
      TABLE_NAME: this.table.tableName,
      SECRET_PREFIX: this.secretPrefix,
      DEFAULT_MIN_VALIDITY_SECONDS: String(props.defaultMinValiditySeconds ?? 20),
      MAX_WAIT_MS: String(maxWait.toMilliseconds()),
      LEASE_DURATION_MS: String((props.leaseDuration ?? Duration.seconds(15)).toMilliseconds()),
      IDENTITY_ALLOWED_HOSTS: (props.identityAllowedHosts ?? ['*.mktorest.com']).join(','),
      IDENTITY_TIMEOUT_MS: String((props.identityTimeout ?? Duration.seconds(5)).toMilliseconds()),
      // The refresher waits out every token that expires before its next run.
      REFRESH_HORIZON_SECONDS: String(refreshPeriod.toSeconds()),
      REFRESH_CONCURRENCY: String(props.refreshConcurrency ?? 8),
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // Source maps ship beside the bundles but are not enabled: `--enable-source-maps` costs about 11 ms of
      // every cold start (docs/benchmarks.md) and the handlers log error codes, not stacks. Set
      // NODE_OPTIONS=--enable-source-maps on a function to debug with TypeScript stack traces.
    };

    this.vendFunction = this.createFunction('Vend', {
      entry: functionEntry('vend'),
      description: 'Vends Marketo access tokens (API Gateway and direct invoke)',
      // Covers the longest wait a caller may be given, plus the final Identity call's tail.
      timeout: Duration.millis(maxWait.toMilliseconds() + 5_000),
      memorySize: props.memorySize ?? 512,
      environment,
      logRetention,
      removalPolicy,
    });
    this.refreshFunction = this.createFunction('Refresh', {
      entry: functionEntry('refresh'),
      description: 'Keeps every registered Marketo client token fresh (scheduled)',
      // Schedule period (the horizon it waits out) plus 60 s for the Identity calls after the wait.
      timeout: refreshPeriod.plus(Duration.seconds(60)),
      memorySize: props.memorySize ?? 512,
      environment,
      logRetention,
      removalPolicy,
      // A failed sweep is repeated by the next scheduled run; async retries would only pile up runs.
      retryAttempts: 0,
    });

    this.grantRuntimeAccess(this.vendFunction, props.encryptionKey);
    this.grantRuntimeAccess(this.refreshFunction, props.encryptionKey);
    [this.refreshQueue, this.refreshDeadLetterQueue] = this.createRefreshFanOut(props, refreshPeriod);

    this.api = this.createApi(props, logRetention, removalPolicy);

    const rule = new events.Rule(this, 'RefreshSchedule', {
      description: 'Runs the Marketo token refresher',
      schedule: events.Schedule.rate(refreshPeriod),
    });
    rule.addTarget(
      new targets.LambdaFunction(this.refreshFunction, {
        // A run older than one period is superseded by the next one.
        maxEventAge: Duration.seconds(Math.max(60, refreshPeriod.toSeconds())),
        retryAttempts: 2,
      }),
    );

    this.createAlarms(props.alarmTopic);
    if (props.dashboard ?? true) this.dashboard = this.createDashboard();
  }

  /**
   * Lets `grantee` call `GET /tokens/<id>` and `POST /tokens/<id>/invalidate` for exactly the given
   * client ids; with no ids, for every client (`/tokens/*`).
   */
  public grantVend(grantee: iam.IGrantable, ...clientIds: string[]): iam.Grant {
    return this.grantRoutes(grantee, 'clientId', clientIds, (id) => [
      `/tokens/${id}`,
      `/tokens/${id}/invalidate`,
    ]);
  }

  /**
   * Lets `grantee` call `GET /instances/<instance>/token` (a token of any client in the instance's pool)
   * and `POST /instances/<instance>/invalidate` for exactly the given instances; with none, for every
   * instance. It does not open the members' per-client routes.
   */
  public grantVendInstance(grantee: iam.IGrantable, ...instances: string[]): iam.Grant {
    return this.grantRoutes(grantee, 'instance', instances, (name) => [
      `/instances/${name}/token`,
      `/instances/${name}/invalidate`,
    ]);
  }

  /** `execute-api:Invoke` on one GET route and its POST invalidate route per name (`*` with none). */
  private grantRoutes(
    grantee: iam.IGrantable,
    what: 'clientId' | 'instance',
    names: readonly string[],
    routes: (name: string) => [get: string, invalidate: string],
  ): iam.Grant {
    for (const name of names) {
      check(
        Token.isUnresolved(name) || NAME_PATTERN.test(name),
        `${what} must be 1-128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "${name}"`,
      );
    }
    const resourceArns = (names.length > 0 ? names : ['*']).flatMap((name) => {
      const [get, invalidate] = routes(name);
      return [
        this.api.arnForExecuteApi('GET', get, this.stageName),
        this.api.arnForExecuteApi('POST', invalidate, this.stageName),
      ];
    });
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns });
  }

  /**
   * Lets `grantee` invoke the vend function directly (`{clientId, minValidity?}`).
   *
   * Caution: a direct invoke can vend a token for ANY registered client; IAM cannot scope it per client.
   * Prefer {@link grantVend} unless the grantee is trusted with every client.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.vendFunction.grantInvoke(grantee);
  }

  /** Calls to Marketo Identity (custom metric `IdentityCalls`, Sum over 5 minutes). */
  public metricIdentityCalls(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric('IdentityCalls', options);
  }

  /** Failed calls to Marketo Identity (custom metric `IdentityErrors`, Sum over 5 minutes). */
  public metricIdentityErrors(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric('IdentityErrors', options);
  }

  /** Clients the refresher failed to refresh (custom metric `RefreshFailed`, Sum over 5 minutes). */
  public metricRefreshFailures(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.customMetric('RefreshFailed', options);
  }

  /** Latency consumers see on the API (API Gateway `Latency`, p99 over 5 minutes). */
  public metricVendLatency(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricLatency({ statistic: 'p99', period: Duration.minutes(5), ...options });
  }

  private customMetric(metricName: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...options,
    });
  }

  private createFunction(
    id: string,
    options: {
      entry: string;
      description: string;
      timeout: Duration;
      memorySize: number;
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
      removalPolicy: RemovalPolicy;
      retryAttempts?: number;
    },
  ): nodejs.NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.logRetention,
      removalPolicy: options.removalPolicy,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: logs only to its own group, nothing else implied.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the Marketo token vendor ${id.toLowerCase()} function`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, `${id}Function`, {
      entry: options.entry,
      handler: 'handler',
      description: options.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      environment: options.environment,
      retryAttempts: options.retryAttempts,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: nodejs.OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // esbuild is a devDependency: CDK runs it locally. Never fall back to Docker (CI has no engine).
        forceDockerBundling: false,
        // Bundle the AWS SDK instead of using the runtime's copy: pins the exact version the tests ran
        // against (the runtime's SDK changes under us) and lets esbuild drop what we do not import.
        bundleAwsSDK: true,
        // CommonJS dependencies bundled into ESM (X-Ray SDK, parts of Smithy) call require() for Node
        // built-ins; ESM has no require, so provide one.
        banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
      },
    });
    return fn;
  }

  /**
   * The refresher's fan-out: the scheduled run queues batches past the threshold; the same function
   * consumes them, one batch per invocation, up to `refreshWorkerConcurrency` at once.
   */
  private createRefreshFanOut(
    props: MarketoTokenVendorProps,
    refreshPeriod: Duration,
  ): [sqs.Queue, sqs.Queue] {
    const deadLetters = new sqs.Queue(this, 'RefreshDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the refresh batches.',
    });
    const timeout = this.refreshFunction.timeout ?? refreshPeriod.plus(Duration.seconds(60));
    const queue = new sqs.Queue(this, 'RefreshBatches', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda consumers: six times the function timeout.
      visibilityTimeout: Duration.seconds(Math.min(43_200, timeout.toSeconds() * 6)),
      // A batch older than a few periods is superseded by newer runs.
      retentionPeriod: Duration.seconds(Math.max(300, refreshPeriod.toSeconds() * 3)),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 3 },
    });
    this.refreshFunction.addEnvironment('REFRESH_QUEUE_URL', queue.queueUrl);
    this.refreshFunction.addEnvironment(
      'REFRESH_FANOUT_THRESHOLD',
      String(props.refreshFanOutThreshold ?? 500),
    );
    this.refreshFunction.addEnvironment('REFRESH_BATCH_SIZE', String(props.refreshBatchSize ?? 100));
    queue.grantSendMessages(this.refreshFunction);
    this.refreshFunction.addEventSource(
      new SqsEventSource(queue, {
        batchSize: 1,
        maxConcurrency: props.refreshWorkerConcurrency ?? 10,
        reportBatchItemFailures: true,
      }),
    );
    return [queue, deadLetters];
  }

  /** Least privilege: secrets under the prefix, two table actions, the CMK through DynamoDB only. */
  private grantRuntimeAccess(fn: nodejs.NodejsFunction, key?: kms.IKey): void {
    const stack = Stack.of(this);
    const secretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.secretPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadClientSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretsArn],
      }),
    );
    // The store only reads (GetItem) and writes with conditional UpdateItem; no Scan/Query/Put/Delete.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TokenTable',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
      }),
    );
    // The refresher lists every client; vend lists an instance pool's members (GET /instances/{i}/token).
    // ListSecrets does not support resource-level permissions: `*` is the only valid resource.
    // It returns names and tags, never secret values; the code filters on the prefix.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListClients',
        actions: ['secretsmanager:ListSecrets'],
        resources: ['*'],
      }),
    );
    if (key) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TableKey',
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
        }),
      );
    }
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (policy) {
      const secretsFinding = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.secretPrefix}*]`;
      Validations.of(policy).acknowledge({
        id: secretsFinding,
        reason:
          'One secret per Marketo client under the prefix; clients are added without redeploying, so the prefix wildcard is the narrowest stable scope.',
      });
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'xray:PutTraceSegments/PutTelemetryRecords and secretsmanager:ListSecrets (instance pools, refresher) do not support resource-level permissions.',
      });
    }
  }

  private createApi(
    props: MarketoTokenVendorProps,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): apigateway.RestApi {
    const throttle = props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 };
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });

    const api = new apigateway.RestApi(this, 'Api', {
      description: 'Vends Marketo REST API access tokens (SigV4 only)',
      endpointConfiguration: {
        types: [props.endpointType ?? apigateway.EndpointType.REGIONAL],
        vpcEndpoints: props.vpcEndpoints,
      },
      // Execution logging needs the account-wide API Gateway CloudWatch role, a singleton managed elsewhere.
      cloudWatchRole: false,
      policy: new iam.PolicyDocument({ statements: this.resourcePolicyStatements(props) }),
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: this.stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        // Tokens must never be cached by the gateway or written to its logs.
        cacheClusterEnabled: false,
        cachingEnabled: false,
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // Who asked for which client, never the body (which holds the token).
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            requestTime: apigateway.AccessLogField.contextRequestTime(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            path: apigateway.AccessLogField.contextPath(),
            status: apigateway.AccessLogField.contextStatus(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
            sourceIp: apigateway.AccessLogField.contextIdentitySourceIp(),
            callerAccount: apigateway.AccessLogField.contextIdentityAccountId(),
            userArn: apigateway.AccessLogField.contextIdentityUserArn(),
            errorType: apigateway.AccessLogField.contextErrorResponseType(),
          }),
        ),
      },
    });

    const integration = new apigateway.LambdaIntegration(this.vendFunction, {
      proxy: true,
      allowTestInvoke: false,
    });
    // API Gateway only checks that parameters are present (their format is the handler's job); the
    // invalidate body is checked against a schema whatever its content type (`$default`).
    const validator = api.addRequestValidator('RequestValidator', {
      requestValidatorName: 'parameters-and-body',
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const invalidateModel = api.addModel('InvalidateRequest', {
      contentType: 'application/json',
      description: 'The access token a consumer saw rejected with Marketo error 601 or 602',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        title: 'InvalidateRequest',
        type: apigateway.JsonSchemaType.OBJECT,
        required: ['accessToken'],
        properties: {
          accessToken: { type: apigateway.JsonSchemaType.STRING, minLength: 1, maxLength: 2048 },
        },
      },
    });
    const methodOptions = (
      pathParameter: string,
      requestModels?: Record<string, apigateway.IModel>,
    ): apigateway.MethodOptions => ({
      authorizationType: apigateway.AuthorizationType.IAM,
      requestValidator: validator,
      requestParameters: {
        [`method.request.path.${pathParameter}`]: true,
        'method.request.querystring.minValidity': false,
      },
      requestModels,
    });

    const client = api.root.addResource('tokens').addResource('{clientId}');
    client.addMethod('GET', integration, methodOptions('clientId'));
    client
      .addResource('invalidate')
      .addMethod('POST', integration, methodOptions('clientId', { $default: invalidateModel }));
    const instance = api.root.addResource('instances').addResource('{instance}');
    instance.addResource('token').addMethod('GET', integration, methodOptions('instance'));
    instance
      .addResource('invalidate')
      .addMethod('POST', integration, methodOptions('instance', { $default: invalidateModel }));

    // Gateway-made errors in the same `{error:{code,message}}` shape the handler uses.
    const gatewayError = (id: string, type: apigateway.ResponseType, statusCode: string, code: string) =>
      api.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: { 'Cache-Control': "'no-store'" },
        templates: {
          'application/json': `{"error":{"code":"${code}","message":$context.error.messageString}}`,
        },
      });
    gatewayError(
      'BadRequestParameters',
      apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
      '400',
      'InvalidRequest',
    );
    gatewayError('AccessDenied', apigateway.ResponseType.ACCESS_DENIED, '403', 'AccessDenied');
    gatewayError('MissingAuth', apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, '403', 'AccessDenied');
    gatewayError('InvalidSignature', apigateway.ResponseType.INVALID_SIGNATURE, '403', 'AccessDenied');
    gatewayError('ExpiredSignature', apigateway.ResponseType.EXPIRED_TOKEN, '403', 'AccessDenied');
    gatewayError('Default5xx', apigateway.ResponseType.DEFAULT_5XX, '500', 'InternalError');

    Validations.of(api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every method requires SigV4 (AWS_IAM) and a resource policy limits callers to configured AWS accounts; stage throttling bounds load. A WAF web ACL can be associated by the operator.',
    });
    Validations.of(api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG6',
      reason:
        'Access logging is on. Execution logging needs the account-wide API Gateway CloudWatch role (a singleton managed outside this stack) and could log token-bearing payloads.',
    });
    for (const method of api.methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'Callers are AWS workloads authenticated with SigV4 (AWS_IAM); there are no end users for Cognito.',
      });
    }
    return api;
  }

  private resourcePolicyStatements(props: MarketoTokenVendorProps): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const configured =
      (props.allowedAccounts?.length ?? 0) > 0 ||
      props.organizationId !== undefined ||
      (props.allowedPrincipals?.length ?? 0) > 0;
    const principals: iam.IPrincipal[] = [
      ...(configured ? (props.allowedAccounts ?? []) : [stack.account]).map(
        (account) => new iam.AccountPrincipal(account),
      ),
      ...(props.allowedPrincipals ?? []),
    ];
    const statements: iam.PolicyStatement[] = [];
    if (principals.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'AllowConfiguredCallers',
          actions: ['execute-api:Invoke'],
          principals,
          resources: ['execute-api:/*'],
        }),
      );
    }
    if (props.organizationId !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'AllowOrganization',
          actions: ['execute-api:Invoke'],
          principals: [new iam.AnyPrincipal()],
          resources: ['execute-api:/*'],
          conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
        }),
      );
    }
    if (props.endpointType === apigateway.EndpointType.PRIVATE) {
      // A private API is reachable from any VPC endpoint in the partition: only the given ones may pass.
      statements.push(
        new iam.PolicyStatement({
          sid: 'DenyOtherVpcEndpoints',
          effect: iam.Effect.DENY,
          actions: ['execute-api:Invoke'],
          principals: [new iam.AnyPrincipal()],
          resources: ['execute-api:/*'],
          conditions: {
            StringNotEquals: { 'aws:SourceVpce': (props.vpcEndpoints ?? []).map((e) => e.vpcEndpointId) },
          },
        }),
      );
    }
    return statements;
  }

  private createAlarms(topic?: sns.ITopic): void {
    const add = (
      id: string,
      metric: cloudwatch.Metric,
      description: string,
      extra?: Partial<cloudwatch.CreateAlarmOptions>,
    ) => {
      const alarm = metric.createAlarm(this, id, {
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...extra,
      });
      if (topic) {
        alarm.addAlarmAction(new cwActions.SnsAction(topic));
        alarm.addOkAction(new cwActions.SnsAction(topic));
      }
      this.alarms.push(alarm);
      return alarm;
    };
    const fiveMinutes = { period: Duration.minutes(5) };
    add(
      'RefreshFailuresAlarm',
      this.metricRefreshFailures(),
      'The refresher failed to refresh a client in 2 of the last 3 five-minute periods (see lastErrorCode in the table).',
      { evaluationPeriods: 3, datapointsToAlarm: 2 },
    );
    add(
      'IdentityErrorsAlarm',
      this.metricIdentityErrors(),
      'Marketo Identity calls failed at least 5 times in 5 minutes.',
      {
        threshold: 5,
      },
    );
    add(
      'Api5xxAlarm',
      this.api.metricServerError({ ...fiveMinutes, statistic: 'Sum' }),
      'The token API answered 5xx at least 5 times in 5 minutes.',
      {
        threshold: 5,
      },
    );
    add(
      'VendErrorsAlarm',
      this.vendFunction.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
      'The vend function failed (unhandled error or timeout).',
    );
    add(
      'VendThrottlesAlarm',
      this.vendFunction.metricThrottles({ ...fiveMinutes, statistic: 'Sum' }),
      'The vend function was throttled.',
    );
    add(
      'RefreshErrorsAlarm',
      this.refreshFunction.metricErrors({ ...fiveMinutes, statistic: 'Sum' }),
      'The refresh function failed (unhandled error or timeout).',
    );
    add(
      'RefreshThrottlesAlarm',
      this.refreshFunction.metricThrottles({ ...fiveMinutes, statistic: 'Sum' }),
      'The refresh function was throttled.',
    );
    add(
      'RefreshDeadLettersAlarm',
      this.refreshDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        ...fiveMinutes,
        statistic: 'Maximum',
      }),
      'Refresh fan-out batches failed three deliveries and sit in the dead-letter queue.',
    );
  }

  /**
   * One screen for the on-call: the runtime's own metrics (EMF, namespace `MarketoTokenVendor`,
   * dimension `service`) on top, the AWS services' metrics below, alarm states at the bottom.
   */
  private createDashboard(): cloudwatch.Dashboard {
    const period = Duration.minutes(5);
    const sum = (name: string, label: string) => this.customMetric(name, { label, period });
    const stat = (name: string, statistic: string, label: string) =>
      this.customMetric(name, { statistic, label, period });
    const width = 8;
    const memory = sum('VendFromMemory', 'memory');
    const store = sum('VendFromStore', 'store');
    const identity = sum('VendFromIdentity', 'Identity');

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      periodOverride: cloudwatch.PeriodOverride.AUTO,
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Marketo token vendor \`${this.serviceName}\`\nRunbook: docs/operations.md (alarms, secret rotation). Custom metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service\`.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Vends by outcome',
        left: [memory, store, identity],
        stacked: true,
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Cache hit ratio (%)',
        left: [
          new cloudwatch.MathExpression({
            expression: '100 * (m + s) / (m + s + i)',
            usingMetrics: { m: memory, s: store, i: identity },
            label: 'hits (memory + store)',
            period,
          }),
          new cloudwatch.MathExpression({
            expression: '100 * m / (m + s + i)',
            usingMetrics: { m: memory, s: store, i: identity },
            label: 'memory',
            period,
          }),
        ],
        leftYAxis: { min: 0, max: 100 },
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Token remaining life at vend (s)',
        left: [
          stat('TokenRemainingSeconds', 'Minimum', 'min'),
          stat('TokenRemainingSeconds', 'p10', 'p10'),
          stat('TokenRemainingSeconds', 'p50', 'p50'),
        ],
        leftYAxis: { min: 0 },
        width,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Identity latency (ms)',
        left: [stat('IdentityLatencyMs', 'p50', 'p50'), stat('IdentityLatencyMs', 'p99', 'p99')],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Identity calls and errors',
        left: [
          sum('IdentityCalls', 'calls'),
          sum('IdentityErrors', 'errors'),
          sum('CredentialsRejected', 'credentials rejected'),
        ],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Coordination and store',
        left: [
          sum('LeaseWaits', 'lease waits'),
          sum('LeaseTakeovers', 'lease takeovers'),
          sum('TokenRotating', 'token rotating'),
          sum('Invalidations', 'invalidations'),
          sum('StoreErrors', 'store errors'),
        ],
        width,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Refresher',
        left: [
          sum('RefreshFetched', 'fetched'),
          sum('RefreshWaited', 'waited out expiry'),
          sum('RefreshFailed', 'failed'),
          sum('PoolMemberFailed', 'pool member failed'),
        ],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Instance pools: guaranteed remaining (s)',
        left: [stat('PoolGuaranteedRemainingSeconds', 'Minimum', 'min')],
        leftYAxis: { min: 0 },
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Refresh dead-letter queue',
        left: [
          this.refreshDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: 'Maximum',
            period,
            label: 'batches waiting',
          }),
        ],
        leftYAxis: { min: 0 },
        width,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [
          this.api.metricCount({ statistic: 'Sum', period, label: 'requests' }),
          this.api.metricClientError({ statistic: 'Sum', period, label: '4xx' }),
          this.api.metricServerError({ statistic: 'Sum', period, label: '5xx' }),
        ],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        left: [
          this.api.metricLatency({ statistic: 'p50', period, label: 'p50' }),
          this.api.metricLatency({ statistic: 'p99', period, label: 'p99' }),
          this.api.metricIntegrationLatency({ statistic: 'p99', period, label: 'integration p99' }),
        ],
        width,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors and throttles',
        left: [
          this.vendFunction.metricErrors({ statistic: 'Sum', period, label: 'vend errors' }),
          this.vendFunction.metricThrottles({ statistic: 'Sum', period, label: 'vend throttles' }),
          this.refreshFunction.metricErrors({ statistic: 'Sum', period, label: 'refresh errors' }),
          this.refreshFunction.metricThrottles({ statistic: 'Sum', period, label: 'refresh throttles' }),
        ],
        width,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    return dashboard;
  }
}

/** Synth-time validation: lowercase messages showing the value received; unresolved tokens pass. */
function validateProps(props: MarketoTokenVendorProps): void {
  const prefix = props.secretPrefix;
  if (prefix !== undefined && !Token.isUnresolved(prefix)) {
    check(
      SECRET_PREFIX_PATTERN.test(prefix) && prefix.length <= 256,
      `secretPrefix must be secret-name characters ending with "/", got "${prefix}"`,
    );
  }
  const schedule = props.refreshSchedule;
  if (schedule !== undefined && !Token.isUnresolved(schedule.toSeconds({ integral: false }))) {
    const seconds = schedule.toSeconds({ integral: false });
    check(
      seconds % 60 === 0 && seconds >= 60 && seconds <= 14 * 60,
      `refreshSchedule must be whole minutes between 1 and 14 (the refresh timeout is the period plus 60 s, at most 15 minutes), got ${seconds} seconds`,
    );
  }
  if (resolvedNumber(props.defaultMinValiditySeconds)) {
    const value = props.defaultMinValiditySeconds;
    check(
      // Same bound as functions/config.ts: a token lives 3600 s, and the handler refuses more at start-up.
      Number.isInteger(value) && value >= 0 && value <= 3500,
      `defaultMinValiditySeconds must be an integer from 0 to 3500 (a token lives 3600 s), got ${value}`,
    );
  }
  const maxWaitMs = props.maxWait?.toMilliseconds();
  if (maxWaitMs !== undefined) {
    check(
      maxWaitMs >= 1_000 && maxWaitMs < API_INTEGRATION_TIMEOUT_MS,
      `maxWait must be at least 1 s and below API Gateway's 29 s integration timeout, got ${maxWaitMs} ms`,
    );
  }
  const identityTimeoutMs = (props.identityTimeout ?? Duration.seconds(5)).toMilliseconds();
  check(
    identityTimeoutMs >= 500 && identityTimeoutMs <= 20_000,
    `identityTimeout must be between 500 ms and 20 s, got ${identityTimeoutMs} ms`,
  );
  const leaseMs = props.leaseDuration?.toMilliseconds();
  if (leaseMs !== undefined) {
    check(
      leaseMs > identityTimeoutMs && leaseMs <= 60_000,
      `leaseDuration must be longer than identityTimeout (${identityTimeoutMs} ms) and at most 60 s, got ${leaseMs} ms`,
    );
  }
  for (const host of props.identityAllowedHosts ?? []) {
    if (Token.isUnresolved(host)) continue;
    check(
      HOST_PATTERN.test(host),
      `identityAllowedHosts entries must be lowercase host names such as "*.mktorest.com", got "${host}"`,
    );
  }
  check(
    props.identityAllowedHosts === undefined || props.identityAllowedHosts.length > 0,
    'identityAllowedHosts must not be empty, got []',
  );
  if (resolvedNumber(props.refreshConcurrency)) {
    const value = props.refreshConcurrency;
    check(
      Number.isInteger(value) && value >= 1 && value <= 64,
      `refreshConcurrency must be an integer from 1 to 64, got ${value}`,
    );
  }
  for (const [name, value, min, max] of [
    ['refreshFanOutThreshold', props.refreshFanOutThreshold, 0, 100_000],
    ['refreshBatchSize', props.refreshBatchSize, 1, 1_000],
    ['refreshWorkerConcurrency', props.refreshWorkerConcurrency, 2, 1_000],
  ] as const) {
    if (resolvedNumber(value)) {
      check(
        Number.isInteger(value) && value >= min && value <= max,
        `${name} must be an integer from ${min} to ${max}, got ${value}`,
      );
    }
  }
  const throttle = props.apiThrottle;
  if (throttle && resolvedNumber(throttle.rateLimit) && resolvedNumber(throttle.burstLimit)) {
    check(
      throttle.rateLimit > 0 && Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0,
      `apiThrottle must have a positive rateLimit and a positive integer burstLimit, got ${JSON.stringify(throttle)}`,
    );
  }
  for (const account of props.allowedAccounts ?? []) {
    if (Token.isUnresolved(account)) continue;
    check(
      ACCOUNT_PATTERN.test(account),
      `allowedAccounts entries must be 12-digit account ids, got "${account}"`,
    );
  }
  const org = props.organizationId;
  if (org !== undefined && !Token.isUnresolved(org)) {
    check(ORG_PATTERN.test(org), `organizationId must look like "o-abcd123456", got "${org}"`);
  }
  if (resolvedNumber(props.memorySize)) {
    const value = props.memorySize;
    check(
      Number.isInteger(value) && value >= 128 && value <= 10_240,
      `memorySize must be an integer from 128 to 10240 mb, got ${value}`,
    );
  }
  const endpointType = props.endpointType ?? apigateway.EndpointType.REGIONAL;
  const endpointCount = props.vpcEndpoints?.length ?? 0;
  check(
    endpointType === apigateway.EndpointType.REGIONAL || endpointType === apigateway.EndpointType.PRIVATE,
    `endpointType must be REGIONAL or PRIVATE, got ${endpointType}`,
  );
  if (endpointType === apigateway.EndpointType.PRIVATE) {
    check(
      endpointCount > 0,
      `endpointType PRIVATE requires at least one execute-api interface endpoint in vpcEndpoints, got ${endpointCount}`,
    );
  } else {
    check(
      endpointCount === 0,
      `vpcEndpoints only apply to endpointType PRIVATE, got ${endpointCount} with endpointType ${endpointType}`,
    );
  }
  const stageName = props.stageName;
  if (stageName !== undefined && !Token.isUnresolved(stageName)) {
    check(
      /^[A-Za-z0-9_]{1,128}$/.test(stageName),
      `stageName must be 1-128 characters of a-z, 0-9 or "_", got "${stageName}"`,
    );
  }
}
