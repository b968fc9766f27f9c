/**
 * Defaults and limits shared by the construct (lib/), the handlers (functions/), local mode (local/) and the
 * CLI (cli/). Each value is written here once; everything else imports it.
 */

/** Secrets Manager name prefix under which each client's credentials live (`<prefix><clientId>`). */
export const DEFAULT_SECRET_PREFIX = 'marketo-token-vendor/clients/';

/** Marketo's Identity hosts: the only place a client secret may be sent by default (SSRF guard). */
export const DEFAULT_IDENTITY_HOSTS: readonly string[] = ['*.mktorest.com'];

/** Hosts that count as loopback for `allowInsecureLoopback` (local mode, tests). */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/** Marketo access tokens live 3600 s. */
export const TOKEN_LIFESPAN_SECONDS = 3600;

/**
 * The largest `minValidity` a caller may ask for. Even a token fetched for this very request has less than
 * the {@link TOKEN_LIFESPAN_SECONDS}: Identity's `expires_in` is whole seconds rounded down (3599 at best),
 * the vendor counts it from when its request was sent, and the Identity round trip (up to 20 s,
 * {@link IDENTITY_TIMEOUT_MS_RANGE}) passes before the token is handed out. An ask above what a fresh token
 * carries could never be met: every token would be too short, and the caller would get `TokenRotating`
 * until its wait budget ended. 3500 s stays 100 s below the lifespan, clear of all three.
 */
export const MAX_MIN_VALIDITY_SECONDS = 3500;

/** Validity a caller gets when it does not ask for any. */
export const DEFAULT_MIN_VALIDITY_SECONDS = 20;

/**
 * Past `minValidity`, how long a caller should be ready to wait for a rotation (the successor is issued only at
 * expiry): the client library's and tokenTask's default retry budget is `minValidity` + this.
 */
export const ROTATION_ALLOWANCE_SECONDS = 30;

/** API Gateway REST's integration timeout: a vend behind the API must answer within it. */
export const API_INTEGRATION_TIMEOUT_MS = 29_000;

/** The vend function's timeout past the longest wait: the last Identity call (its default timeout). */
export const VEND_TIMEOUT_TAIL_MS = 5_000;

/**
 * Longest wait a vend behind API Gateway may be given: with the tail it must end before the integration
 * timeout, or the caller gets a 504 instead of the token (issue 22).
 */
export const MAX_API_WAIT_MS = API_INTEGRATION_TIMEOUT_MS - VEND_TIMEOUT_TAIL_MS;

/** Longest a caller waits for a token by default: the most that fits {@link API_INTEGRATION_TIMEOUT_MS}. */
export const DEFAULT_MAX_WAIT_MS = MAX_API_WAIT_MS;

/** Concurrent executions reserved for (and capping) the vend function, unless configured otherwise. */
export const DEFAULT_VEND_RESERVED_CONCURRENCY = 100;

/** Longest wait a direct invoke may ask for (Lambda's own limit is 15 minutes). */
export const MAX_WAIT_LIMIT_MS = 900_000;

/** Inclusive bounds of a whole-number setting. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

/**
 * How often a vend function brings an instance's daily count up to Marketo's `usage.json` (after serving it
 * that long): one Marketo call per instance per interval, against a count that otherwise misses the calls of
 * integrations outside the vendor. From 1 s (tests) to a day.
 */
export const DEFAULT_BUDGET_RECONCILE_SECONDS = 300;
export const BUDGET_RECONCILE_SECONDS_RANGE: Range = { min: 1, max: 86_400 };

/** How long one refresher holds a client's lease while it calls Identity. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;

/**
 * The construct used to allow up to 60 s and the handler config up to 300 s; 60 s wins. A lease only has to
 * outlive one Identity call (at most 20 s, {@link IDENTITY_TIMEOUT_MS_RANGE}) with its retries, and a lease
 * left by a crashed Lambda blocks every other refresh of that client until it lapses: five minutes of that
 * would outlast ten API waits, while 60 s is already over two.
 */
export const LEASE_DURATION_MS_RANGE: Range = { min: 1_000, max: 60_000 };

/** Timeout of one Identity call. */
export const DEFAULT_IDENTITY_TIMEOUT_MS = 5_000;
export const IDENTITY_TIMEOUT_MS_RANGE: Range = { min: 500, max: 20_000 };

/**
 * A token with at most this much life left is "rotating": never handed out, waited out instead.
 * Covers clock skew of ±2 s between Lambdas (test/reliability/process-faults.test.ts).
 */
export const ROTATION_GUARD_SECONDS = 5;
export const ROTATION_GUARD_MS = ROTATION_GUARD_SECONDS * 1000;

/**
 * Wait past a token's conservative expiry before asking Identity for its successor (the time between our
 * request and Identity's reading of its clock). Skew between instances costs at most one extra Identity
 * call instead of a longer wait (functions/core/identity-fetch.ts, issue 15).
 */
export const EXPIRY_SLACK_MS = 250;

/** How long a token item stays in the table after its last write (DynamoDB TTL). */
export const ITEM_RETENTION_SECONDS = 86_400;

/**
 * How long a pool's membership (clients whose instance tag and secret agree) is reused: the window in which a
 * client moved out of a pool can still be vended through it (docs/pools.md, "Membership"). Each renewal costs
 * one ListSecrets and one GetSecretValue per tagged member, only while the pool is asked for.
 */
export const POOL_MEMBERSHIP_CACHE_MS = 5_000;

/**
 * How long the refresher leaves a client alone after Identity rejected its credentials, unless its secret
 * changes first (issue 22): 2 Identity calls per cooldown instead of 2 a minute for a broken client.
 */
export const REJECTED_CREDENTIALS_COOLDOWN_MS = 15 * 60_000;

/**
 * Refresh schedule period: whole minutes. A run queues the refreshes due within the period plus
 * {@link REFRESH_PLAN_MARGIN_SECONDS}, delayed at most {@link SQS_MAX_DELAY_SECONDS}: 14 minutes at most.
 */
export const REFRESH_PERIOD_MINUTES_RANGE: Range = { min: 1, max: 14 };

/** Tokens expiring within this window are replaced by a sweep; set to the schedule period. */
export const DEFAULT_REFRESH_HORIZON_SECONDS = 60;
export const REFRESH_HORIZON_SECONDS_RANGE: Range = { min: 0, max: REFRESH_PERIOD_MINUTES_RANGE.max * 60 };

/**
 * Identity fetches a sweep keeps in flight at once. 16 since issue 25 (8 before): a worker's message holds the
 * refreshes due within about a second, about 28 at 100,000 clients; 8 at once queued them and let the expiry
 * gap reach 955 ms, 16 keep it at 570 ms (docs/benchmarks.md §9).
 */
export const DEFAULT_REFRESH_CONCURRENCY = 16;
export const REFRESH_CONCURRENCY_RANGE: Range = { min: 1, max: 64 };

/** The range the deprecated `refreshFanOutThreshold` prop is still checked against (it is ignored). */
export const REFRESH_FANOUT_THRESHOLD_RANGE: Range = { min: 0, max: 100_000 };

/** Most clients in one refresh message (the refreshes due within one second of each other). */
export const DEFAULT_REFRESH_BATCH_SIZE = 100;
export const REFRESH_BATCH_SIZE_RANGE: Range = { min: 1, max: 1_000 };

/**
 * The token table's index of due refreshes (a global secondary index): every item holding a token carries
 * `refreshDue` (always {@link REFRESH_INDEX}.partitionValue) and `refreshAt` (epoch ms: when its successor
 * is due), so the refresher queries the refreshes due in a window instead of reading every client.
 */
export const REFRESH_INDEX = {
  name: 'RefreshDue',
  partitionKey: 'refreshDue',
  sortKey: 'refreshAt',
  partitionValue: 'due',
} as const;

/** Key of the refresher's plan item in the token table (how far it has queued); never a valid client id. */
export const REFRESH_PLAN_KEY = '#refresh-plan';

/** SQS's longest message delay (`DelaySeconds`). */
export const SQS_MAX_DELAY_SECONDS = 900;

/**
 * A scheduled run queues the refreshes due before its next run plus this margin (a run may start late), each
 * as a message delayed to its due instant. One period plus the margin must fit {@link SQS_MAX_DELAY_SECONDS}.
 */
export const REFRESH_PLAN_MARGIN_SECONDS = 60;

/**
 * A refresh message becomes visible this long (plus up to one second, SQS delays being whole seconds) before
 * its refresh is due, so the poller and the invocation are under way when the instant comes.
 */
export const REFRESH_DELIVERY_LEAD_MS = 250;

/** A worker refreshes the tokens of its message due within this window; a later token means a stale message. */
export const REFRESH_WORKER_HORIZON_SECONDS = 5;

/**
 * A refresh still not done this long after it was due is overdue: each run queues it again at once and
 * counts it (metric `RefreshOverdue`, the backlog the alarm watches).
 */
export const REFRESH_OVERDUE_AFTER_SECONDS = 60;

/** How often a scheduled run lists every registered client, to queue those without a token in the index. */
export const REFRESH_RECONCILE_MINUTES = 60;

/**
 * The refresh function's timeout. No run waits for an expiry (a worker waits at most a few seconds for its
 * message's instants); the longest run is a scheduled one listing every client once an hour (100,000
 * clients are 1,000 ListSecrets pages).
 */
export const REFRESH_TIMEOUT_SECONDS = 300;

/**
 * Messages per refresh worker invocation (the event source mapping's batch size): one. A message's
 * refreshes are due within about a second, and Identity calls in flight stay at most
 * `refreshWorkerConcurrency` × `refreshConcurrency` even while a backlog drains.
 */
export const REFRESH_WORKER_BATCH_SIZE = 1;

/** Reserved concurrency the construct accepts for the vend function (Lambda's own per-function limit is the account's). */
export const VEND_RESERVED_CONCURRENCY_RANGE: Range = { min: 1, max: 10_000 };

/** Refresh worker invocations at once (the event source mapping's maximum concurrency). */
export const DEFAULT_REFRESH_WORKER_CONCURRENCY = 10;
export const REFRESH_WORKER_CONCURRENCY_RANGE: Range = { min: 2, max: 1_000 };

/** Longest token string an invalidate may report (a Marketo token is a few dozen characters). */
export const MAX_REJECTED_TOKEN_LENGTH = 4_096;

/** Largest request body the API accepts (an invalidate body is one token). */
export const MAX_REQUEST_BODY_BYTES = 8_192;

/** Default service name (Powertools) and metrics namespace. */
export const DEFAULT_SERVICE_NAME = 'marketo-token-vendor';
export const METRICS_NAMESPACE = 'MarketoTokenVendor';

/**
 * API answers `503 TokenRotating`: intended (a caller asked more validity than the wait budget allows near an
 * expiry), so the API's 5xx alarm subtracts them; emitted by the vend handler, read by the construct.
 */
export const API_TOKEN_ROTATING_METRIC = 'ApiTokenRotating';
