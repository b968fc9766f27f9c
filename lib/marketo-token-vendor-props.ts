import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { VendorBudgetProps } from './vendor-budget.js';

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
   * How often the refresher's scheduled run reads the refresh index (a rate, whole minutes, 1–14). Each run
   * queues the refreshes due before the next run plus 60 s, as SQS messages delayed to just before their
   * instants (SQS delays a message at most 15 minutes).
   * @default Duration.minutes(1)
   */
  readonly refreshSchedule?: Duration;
  /**
   * Seconds of validity (0–3500) a vended token has at least when the caller does not say (`minValidity`).
   * @default 20
   */
  readonly defaultMinValiditySeconds?: number;
  /**
   * Longest a caller waits for a token (lease holder, expiry wait-out): 1 s to 24 s. The vend function's
   * timeout is this plus 5 s for the last Identity call (rounded up to whole seconds), which must end before
   * API Gateway's 29 s integration timeout, or callers get 504s.
   * @default Duration.seconds(24)
   */
  readonly maxWait?: Duration;
  /**
   * Concurrent executions reserved for the vend function, which are also its maximum: one consumer calling
   * in a loop (each call may wait up to `maxWait`) can then take at most this many of the account's Lambda
   * concurrency, never the whole pool. Reaching it throttles further vends: API callers get 500s (alarmed by
   * `VendThrottlesAlarm` and `Api5xxAlarm`), direct invokes `TooManyRequestsException` (docs/operations.md).
   * `false`: no reservation and no bound (for accounts whose concurrency quota cannot spare it: Lambda keeps
   * at least 100 unreserved).
   * @default 100
   */
  readonly vendReservedConcurrency?: number | false;
  /**
   * Execution environments of the vend function kept initialized (provisioned concurrency), so consumers up
   * to this many at once never meet a cold start: the API and direct invokes then call the alias `live`
   * (`vendAlias`), which this many environments serve warm. Billed while provisioned, used or not
   * (docs/cost.md: about 4.32 USD a month per environment at 512 MB on arm64, list price). At most
   * `vendReservedConcurrency`.
   * @default - none: environments start on demand (cold start measured in docs/benchmarks.md §4)
   */
  readonly vendProvisionedConcurrency?: number;
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
   * Identity calls one refresh invocation keeps in flight at once (a worker's message holds the refreshes
   * due within about a second: at 100,000 clients about 28, which 16 replace within the 1 s gap).
   * @default 16
   */
  readonly refreshConcurrency?: number;
  /**
   * No longer used: every scheduled run reads only the refreshes that are due from the table's refresh
   * index, whatever the number of clients. Still checked (0–100,000), then ignored.
   * @deprecated since issue 25; remove it from your props
   * @default - ignored
   */
  readonly refreshFanOutThreshold?: number;
  /**
   * Most clients in one refresh message (the refreshes due within the same second share a message; a pool
   * member's worker lists the rest of its pool itself).
   * @default 100
   */
  readonly refreshBatchSize?: number;
  /**
   * Most refresh worker invocations at once (2–1000): the event source mapping's maximum concurrency.
   * @default 10
   */
  readonly refreshWorkerConcurrency?: number;
  /**
   * Stage throttling of the REST API.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly apiThrottle?: ApiThrottle;
  /**
   * Other AWS accounts whose principals may call the API at all. Only restricts: the API's resource policy
   * denies every caller outside the stack's own account and `allowedAccounts`, `organizationId` and
   * `allowedPrincipals`; it grants nothing. A caller of another account also needs `grantVend` (which
   * writes a per-client resource-policy Allow) and its own account's IAM allow.
   * @default - no other account
   */
  readonly allowedAccounts?: string[];
  /**
   * AWS Organizations id (`o-…`) whose accounts' principals may call the API at all (restricts only, like
   * `allowedAccounts`).
   * @default - no organization
   */
  readonly organizationId?: string;
  /**
   * Individual roles, users or accounts (e.g. roles in other accounts) that may call the API at all
   * (restricts only, like `allowedAccounts`).
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
   * Name of the REST API. It is the `ApiName` dimension of API Gateway's metrics, which the alarms and the
   * dashboard read, so two APIs of one name in an account and region mix their metrics.
   * @default - `<stack name>-<path of this construct in the stack>`, e.g. `MarketoTokenVendor-Vendor`
   */
  readonly apiName?: string;
  /**
   * Whether this stack sets the region's API Gateway CloudWatch Logs role (the account setting access logs
   * need) to a role it creates. Both are kept when the stack is deleted, since every API of the region logs
   * through the setting. Set `false` where that setting is managed centrally (it must then already be set,
   * or the stage fails to deploy).
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * Name of the API stage (part of every execute-api ARN).
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Powertools service name: the `service` dimension of the custom metrics (which the alarms and the
   * dashboard read) and a field of every log line. Two vendors of one name in an account and region mix their
   * metrics, so the default is unique per vendor, like the API name.
   * @default - `<stack name>-<path of this construct in the stack>`, e.g. `MarketoTokenVendor-Vendor`
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
  /**
   * The shared Marketo API budget per instance (permits before each Marketo call): limits per instance
   * (REST host, or `default`), what permits do when the budget table is unreachable, the alarm threshold.
   * @default - on, with Marketo's documented limits (100 calls per 20 s, 10 concurrent, 50,000 a day), fail open, alarm at 80 %
   */
  readonly budget?: VendorBudgetProps;
}
