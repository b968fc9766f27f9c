/**
 * The refresher in steady state, simulated on a virtual clock: N clients whose token expiries are spread
 * uniformly over the hour, the deployed path (EventBridge schedule → refresh function → SQS → event source
 * mapping → refresh workers) on loopback, for whole simulated hours. Time is a {@link VirtualClock}: the
 * loopback round trips take no virtual time, so AWS's are added as modelled latencies, and two hours run
 * in minutes whatever the machine's load. Counts what a bill counts, per simulated hour.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import pLimit from 'p-limit';
import { DynamoRefreshIndex } from '../../functions/adapters/dynamo-refresh-index.js';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { EXPIRY_SLACK_MS } from '../../functions/contract/index.js';
import type {
  DueRefresh,
  IdentityClient,
  Logger,
  MetricName,
  MetricsSink,
  RefreshIndex,
  StoredToken,
  TokenStore,
} from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import { coreTelemetry, createTelemetry, type Telemetry } from '../../functions/telemetry.js';
import { wireVendor } from '../../functions/wire-vendor.js';
import { lambdaContext } from '../../test/support/api-event.js';
import { VirtualClock } from '../../testing/clocks.js';
import { MemoryRefreshIndex, MemoryTokenStore } from '../../testing/memory-token-store.js';
import { startSqsStub } from '../../testing/sqs-stub.js';
import { startWorld, type World } from '../../testing/world.js';
import { seededRandom } from '../lib/stats.js';
import {
  EventSourceMapping,
  LambdaMeter,
  type MappingOptions,
  type QueuedMessage,
  VirtualQueue,
  type VirtualQueueOptions,
  withLatency,
} from '../lib/virtual-aws.js';
import { BENCH_VENDOR_CONFIG } from '../lib/world.js';

/** Round trips in AWS, added as virtual time before each call (loopback takes none). */
export interface ModelledLatencies {
  /** Marketo Identity, request to answer. @default 200 (as scenario 5) */
  readonly identityMs: number;
  /** One DynamoDB request in region. @default 5 */
  readonly dynamoMs: number;
  /** One Secrets Manager request (GetSecretValue, a ListSecrets page). @default 20 */
  readonly secretsManagerMs: number;
  /** One SQS SendMessageBatch. @default 15 */
  readonly sqsMs: number;
  /** From a message becoming visible to its worker invocation starting (poller, invoke). @default 50 */
  readonly deliveryMs: number;
}

export const DEFAULT_LATENCIES: ModelledLatencies = {
  identityMs: 200,
  dynamoMs: 5,
  secretsManagerMs: 20,
  sqsMs: 15,
  deliveryMs: 50,
};

/** What one refresh function environment is made of (each its own vendor, as a warm Lambda). */
export interface SimEnvironment {
  readonly vendor: TokenVendor;
  readonly telemetry: Telemetry;
  /** The environment's store port (with latency), for designs that plan from the table. */
  readonly store: TokenStore;
  /** Secrets Manager listing (its own cache), for designs that list clients. */
  readonly listing: SecretsManagerCredentials;
  /** The refresh index on the table (with latency), for designs that plan from it. */
  readonly index: RefreshIndex;
  /** The core's telemetry ports of this environment. */
  readonly core: { readonly logger: Logger; readonly metrics: MetricsSink };
  /** The SQS client (with latency) and the queue's URL. */
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly clock: VirtualClock;
}

/** A refresher design under test: the refresh function's handler and how the construct deploys it. */
export interface RefreshDesignSim {
  readonly id: string;
  readonly label: string;
  /** The fan-out queue's settings. */
  readonly queue: VirtualQueueOptions;
  /** The event source mapping's settings. */
  readonly mapping: Omit<MappingOptions, 'deliveryLatencyMs'>;
  /** Schedule period. */
  readonly periodMs: number;
  /** Builds the refresh function's handler in one environment (schedule runs and SQS batches alike). */
  handler(env: SimEnvironment): (event: unknown, context: Context) => Promise<unknown>;
  /** Index writes per token write, for the bill (a global secondary index whose key moves costs 2). @default 0 */
  readonly indexWritesPerTokenWrite?: number;
}

/** How the simulation reaches its stand-ins (see {@link SteadyStateSimOptions.transport}). */
export type SimTransport = 'loopback' | 'in-process';

/** Options of {@link simulateSteadyState}. */
export interface SteadyStateSimOptions {
  readonly clients: number;
  readonly design: RefreshDesignSim;
  /** Simulated hours measured. @default 2 */
  readonly hours?: number;
  /**
   * How the stand-ins are reached. `loopback`: dynalite, the Secrets Manager stub and the simulator over
   * HTTP with the real SDK clients and adapters. `in-process`: the same stub's and simulator's handlers
   * called without HTTP (through the real Secrets Manager adapter), and the in-memory store with the token
   * store's port for the table. On the virtual clock both count the same (the transport only changes how
   * long a run takes); 100,000 clients over loopback HTTP would take hours of real time. @default 'loopback'
   */
  readonly transport?: SimTransport;
  readonly latencies?: Partial<ModelledLatencies>;
  /** Seed of the expiry spread. @default 25 */
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

/** One simulated hour's figures. */
export interface HourFigures {
  readonly hour: number;
  readonly identityCalls: number;
  /** Token expiries in the hour (each client's token expires once an hour in steady state). */
  readonly expiries: number;
  /** Expiry → successor in the store, of the expiries in the hour that were replaced. */
  readonly gapMaxMs: number;
  readonly gapP99Ms: number;
  /** Expiries whose successor came more than 1 s late, or never (within the run). */
  readonly notInTime: number;
  readonly workerInvocations: number;
  readonly workerBilledMs: number;
  /** The longest worker invocation (how long one sleeps, at most). */
  readonly workerLongestMs: number;
  readonly scheduleInvocations: number;
  readonly scheduleBilledMs: number;
  readonly messagesSent: number;
  readonly sqsSendRequests: number;
  /** DynamoDB requests by operation (GetItem, UpdateItem, Query, …). */
  readonly dynamo: Readonly<Record<string, number>>;
  /** Read and write units those requests consume (estimated: items under 1 KB). */
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly secretsList: number;
  readonly secretsGet: number;
  /** Messages older than the retention period, dropped unprocessed; and dead-lettered. */
  readonly messagesExpired: number;
  readonly messagesDeadLettered: number;
  /** Queue depth and oldest visible message age at the end of the hour. */
  readonly queueDepth: number;
  readonly oldestMessageAgeMs: number;
}

export interface SteadyStateSimResult {
  readonly design: string;
  readonly clients: number;
  readonly transport: SimTransport;
  readonly latencies: ModelledLatencies;
  readonly hours: readonly HourFigures[];
  /** Real time the simulation took (setup excluded), ms. */
  readonly realMs: number;
  readonly setupMs: number;
}

const HOUR_MS = 3_600_000;
/** Virtual start: a round instant, so hours are easy to read in logs. */
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
/**
 * Expiries start this long after the first scheduled run, so the measured hours see the design in its
 * steady state rather than catching up with tokens due before it ever ran.
 */
const WARM_UP_MS = 180_000;
/** Past the measured hours the run goes on this long, so expiries near the end can still be replaced. */
const TAIL_MS = 180_000;
const QUEUE_URL = 'http://127.0.0.1/refresh-batches';
/** Size of one refresh index entry (client id, refreshAt, refreshDue, instance, overhead), for read units. */
const INDEX_ENTRY_BYTES = 100;

/** Counts requests by name and instant, to be split into hours afterwards. */
class EventLog {
  readonly #events = new Map<string, number[]>();
  add(name: string, at: number): void {
    let list = this.#events.get(name);
    if (!list) {
      list = [];
      this.#events.set(name, list);
    }
    list.push(at);
  }
  count(name: string, from: number, to: number): number {
    let n = 0;
    for (const at of this.#events.get(name) ?? []) if (at >= from && at < to) n += 1;
    return n;
  }
  /** The names starting with `prefix`, sorted (so two logs' figures compare whatever came first). */
  names(prefix: string): string[] {
    return [...this.#events.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

/** The part of an SDK client's middleware stack {@link countCommands} uses. */
interface InitializeStack {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { readonly commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { readonly step: 'initialize'; readonly name: string },
    ): void;
  };
}

/** Logged besides `dynamo:GetItem` for an eventually consistent GetItem: half a read unit. */
const EVENTUAL_READ = 'eventualRead';

/** Whether a GetItem command's input (`args.input`) asks for a strongly consistent read. */
const isConsistentRead = (args: unknown): boolean => {
  const input = (args as { readonly input?: { readonly ConsistentRead?: boolean } }).input;
  return input?.ConsistentRead === true;
};

/** Counts every command an SDK client sends (`<prefix><CommandName>`), on the virtual clock. */
const countCommands = (
  client: DynamoDBClient | SecretsManagerClient,
  prefix: string,
  log: EventLog,
  clock: VirtualClock,
): void => {
  (client as unknown as InitializeStack).middlewareStack.add(
    (next, context) => (args) => {
      const name = (context.commandName ?? '?').replace(/Command$/, '');
      log.add(`${prefix}${name}`, clock.now());
      if (name === 'GetItem' && !isConsistentRead(args)) log.add(EVENTUAL_READ, clock.now());
      return next(args);
    },
    { step: 'initialize', name: `benchCount${prefix}` },
  );
};

/** `port`, logging every method call as `name` at the instant it starts. */
const countCalls = <T extends object>(port: T, name: string, log: EventLog, clock: VirtualClock): T =>
  new Proxy(port, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || !(key === 'send' || key === 'fetchToken')) return value;
      return (...args: unknown[]): unknown => {
        log.add(name, clock.now());
        return value.apply(target, args);
      };
    },
  });

/** `client`, logging every command it sends (`<prefix><Operation>`) at the instant it starts. */
const countSends = <T extends object>(client: T, prefix: string, log: EventLog, clock: VirtualClock): T =>
  new Proxy(client, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key !== 'send' || typeof value !== 'function') return value;
      return (command: { constructor: { name: string } }, ...rest: unknown[]): unknown => {
        log.add(`${prefix}${command.constructor.name.replace(/Command$/, '')}`, clock.now());
        return value.apply(target, [command, ...rest]);
      };
    },
  });

/** Marketo Identity answered by the simulator in process (same rules, no HTTP). */
const inProcessIdentity = (world: World<VirtualClock>): IdentityClient => ({
  async fetchToken(credentials) {
    const { status, body } = world.simulator.identityInProcess(
      credentials.clientId,
      credentials.clientSecret,
    );
    if (status !== 200) throw new Error(`simulated Identity answered ${status}`);
    return {
      accessToken: String(body.access_token),
      tokenType: String(body.token_type),
      scope: String(body.scope),
      expiresInSeconds: Number(body.expires_in),
    };
  },
});

/** `client` whose `send` takes `latencyMs` of virtual time and is tracked as I/O by the clock. */
const sdkWithLatency = <T extends object>(clock: VirtualClock, client: T, latencyMs: number): T =>
  withLatency(clock, clock.track(client), latencyMs, ['send']);

/** The in-memory store, counting its calls as the DynamoDB requests they stand for. */
const countingMemoryStore = (inner: MemoryTokenStore, log: EventLog, clock: VirtualClock): TokenStore =>
  new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      const operation = key === 'get' ? 'GetItem' : key === 'list' ? 'Scan' : 'UpdateItem';
      return (...args: unknown[]): unknown => {
        log.add(`dynamo:${operation}`, clock.now());
        // The DynamoDB store reads strongly consistently unless asked otherwise.
        const options = args[1] as { readonly consistent?: boolean } | undefined;
        if (key === 'get' && options?.consistent === false) log.add(EVENTUAL_READ, clock.now());
        return value.apply(target, args);
      };
    },
  });

const sqsEvent = (messages: readonly QueuedMessage[]): SQSEvent => ({
  Records: messages.map((m) => ({
    messageId: m.messageId,
    receiptHandle: m.messageId,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentAt),
    } as SQSEvent['Records'][number]['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:refresh-batches',
    awsRegion: 'us-east-1',
  })),
});

/** Per client: the instant its current token truly expires (the simulator's) and that token. */
interface ExpiryTracker {
  readonly trueExpiry: Map<string, number>;
  readonly currentToken: Map<string, string>;
  /** Replaced expiries: when the old token expired and how long until its successor was stored. */
  readonly gaps: Array<{ readonly expiredAt: number; readonly gapMs: number }>;
}

/**
 * Records every successful token write: when the store first holds a token other than the one that
 * expired, the time since the old one's true expiry is that expiry's gap.
 */
const observingStore = (inner: TokenStore, world: World<VirtualClock>, tracker: ExpiryTracker): TokenStore =>
  new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key !== 'completeLease' || typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        const stored = (await value.apply(target, args)) as boolean;
        const [clientId, , outcome] = args as [string, string, { token?: StoredToken }];
        if (stored && outcome.token && outcome.token.accessToken !== tracker.currentToken.get(clientId)) {
          const now = world.clock.now();
          const previous = tracker.trueExpiry.get(clientId);
          if (previous !== undefined) tracker.gaps.push({ expiredAt: previous, gapMs: now - previous });
          const issued = world.simulator.currentToken(clientId);
          tracker.currentToken.set(clientId, outcome.token.accessToken);
          if (issued?.accessToken === outcome.token.accessToken)
            tracker.trueExpiry.set(clientId, issued.expiresAt);
        }
        return stored;
      };
    },
  });

/**
 * The refresh index, counting the entries its queries return (read units follow their size) and, for the
 * in-memory stand-in, its calls as the DynamoDB requests they stand for.
 */
const countingIndex = (
  inner: RefreshIndex,
  log: EventLog,
  clock: VirtualClock,
  /** For the in-memory stand-in: the latency of one request, and each call counted as one. */
  memoryLatencyMs: number | undefined,
  queries: Array<{ readonly at: number; readonly entries: number }>,
): RefreshIndex => {
  const request = async (operation: string): Promise<void> => {
    if (memoryLatencyMs === undefined) return;
    log.add(`dynamo:${operation}`, clock.now());
    await clock.sleep(memoryLatencyMs);
  };
  return {
    async *due(range) {
      await request('Query');
      let entries = 0;
      for await (const entry of inner.due(range) as AsyncIterable<DueRefresh>) {
        entries += 1;
        yield entry;
      }
      queries.push({ at: clock.now(), entries });
    },
    async readPlan() {
      await request('GetItem');
      return inner.readPlan();
    },
    async advancePlan(expected, next) {
      await request('UpdateItem');
      return inner.advancePlan(expected, next);
    },
  };
};

/** A metrics sink that only counts (the handler's own Powertools metrics still flush as in Lambda). */
const countingMetrics = (inner: MetricsSink, log: EventLog, clock: VirtualClock): MetricsSink => ({
  record(name: MetricName, value, unit) {
    if (unit === 'Count') for (let i = 0; i < value; i += 1) log.add(`metric:${name}`, clock.now());
    inner.record(name, value, unit);
  },
});

/** Runs one design at one size for `hours` simulated hours and returns the figures per hour. */
export async function simulateSteadyState(options: SteadyStateSimOptions): Promise<SteadyStateSimResult> {
  const { clients, design } = options;
  const hours = options.hours ?? 2;
  const transport = options.transport ?? 'loopback';
  const latencies: ModelledLatencies = { ...DEFAULT_LATENCIES, ...options.latencies };
  const log = options.log ?? (() => {});
  const setupStarted = performance.now();
  const clock = new VirtualClock(T0, { simultaneousTogether: true });
  const world = await startWorld({
    clock,
    lifespanSeconds: 3600,
    listPageSize: 100,
    vendorDefaults: BENCH_VENDOR_CONFIG,
    sdkMaxAttempts: 2,
  });
  const sqsStub = await startSqsStub({ now: clock.now });
  const events = new EventLog();
  countCommands(world.clients.dynamo, 'dynamo:', events, clock);

  const dynamo = sdkWithLatency(clock, world.clients.dynamo, latencies.dynamoMs);
  const secrets = sdkWithLatency(
    clock,
    countSends(
      transport === 'loopback' ? world.clients.secrets : world.secrets.inProcessClient(),
      'secrets:',
      events,
      clock,
    ),
    latencies.secretsManagerMs,
  );
  const sqs = withLatency(
    clock,
    countCalls(clock.track(sqsStub.client), 'sqs', events, clock),
    latencies.sqsMs,
    ['send'],
  );
  const memory = transport === 'in-process' ? new MemoryTokenStore() : undefined;
  const memoryIndex = memory ? new MemoryRefreshIndex(memory) : undefined;
  const tableStore = (): TokenStore =>
    memory
      ? withLatency(clock, countingMemoryStore(memory, events, clock), latencies.dynamoMs)
      : new DynamoTokenStore({ client: dynamo, tableName: world.tableName, now: clock.now });
  const tracker: ExpiryTracker = { trueExpiry: new Map(), currentToken: new Map(), gaps: [] };
  const indexQueries: Array<{ readonly at: number; readonly entries: number }> = [];
  try {
    // Register the clients and seed a token each, expiring uniformly over the first hour, as if each had
    // been fetched an hour before (no Identity call, two store writes each, not counted).
    const random = seededRandom(options.seed ?? 25);
    const ids = Array.from({ length: clients }, (_, i) => `client-${String(i).padStart(6, '0')}`);
    const seedStore =
      memory ?? new DynamoTokenStore({ client: world.clients.dynamo, tableName: world.tableName });
    const limit = pLimit(64);
    await Promise.all(
      ids.map((clientId) =>
        limit(async () => {
          world.register(clientId);
          const trueExpiry = T0 + WARM_UP_MS + Math.floor(random() * HOUR_MS);
          const { accessToken } = world.simulator.seedToken(clientId, trueExpiry);
          const requestedAt = trueExpiry - HOUR_MS - latencies.identityMs;
          const token: StoredToken = {
            accessToken,
            tokenType: 'bearer',
            scope: `${clientId}@api-user.marketo-simulator.test`,
            expiresAt: requestedAt + HOUR_MS,
            obtainedAt: requestedAt + latencies.identityMs,
            requestedAt,
          };
          const ttl = Math.ceil(trueExpiry / 1000) + 86_400;
          await seedStore.acquireLease(clientId, undefined, { owner: 'seed', leaseUntil: T0 }, ttl);
          // The successor is due when the engine asks for it: conservative expiry + round trip + slack.
          const refreshAt = token.expiresAt + latencies.identityMs + EXPIRY_SLACK_MS;
          await seedStore.completeLease(clientId, 'seed', { token, refreshAt }, ttl);
          tracker.trueExpiry.set(clientId, trueExpiry);
          tracker.currentToken.set(clientId, accessToken);
        }),
      ),
    );
    world.simulator.resetCounters();
    world.secrets.resetCalls();
    const setupMs = performance.now() - setupStarted;
    log(
      `  steady state ${design.id} ${clients} clients (${transport}): set up in ${Math.round(setupMs / 1000)} s`,
    );

    // Each environment: its own vendor (memory, single flight, secret cache), sharing the SDK clients.
    const newEnvironment = (name: string): SimEnvironment => {
      const telemetry = createTelemetry('marketo-token-vendor');
      const core = coreTelemetry(telemetry);
      const store = observingStore(tableStore(), world, tracker);
      const vendor = wireVendor({
        store,
        credentials: new SecretsManagerCredentials({ client: secrets, now: clock.now }),
        identity: withLatency(
          clock,
          countCalls(
            clock.track(
              transport === 'loopback'
                ? new HttpIdentityClient({ now: clock.now })
                : inProcessIdentity(world),
            ),
            'identity',
            events,
            clock,
          ),
          latencies.identityMs,
        ),
        clock,
        instanceId: name,
        telemetry: { logger: core.logger, metrics: countingMetrics(core.metrics, events, clock) },
        config: BENCH_VENDOR_CONFIG,
      });
      const index = countingIndex(
        memoryIndex ?? new DynamoRefreshIndex({ client: dynamo, tableName: world.tableName }),
        events,
        clock,
        memoryIndex ? latencies.dynamoMs : undefined,
        indexQueries,
      );
      return {
        vendor,
        telemetry,
        store,
        index,
        core: { logger: core.logger, metrics: countingMetrics(core.metrics, events, clock) },
        listing: new SecretsManagerCredentials({ client: secrets, now: clock.now }),
        sqs,
        queueUrl: QUEUE_URL,
        clock,
      };
    };
    const meter = new LambdaMeter(clock);
    const queue = new VirtualQueue(clock, design.queue);
    const workers = Array.from({ length: design.mapping.maxConcurrency }, (_, i) => {
      const env = newEnvironment(`worker-${i}`);
      return design.handler(env);
    });
    const mapping = new EventSourceMapping(
      clock,
      queue,
      { ...design.mapping, deliveryLatencyMs: latencies.deliveryMs },
      () => queue.ingest(sqsStub.entries),
      async (environment, messages) => {
        const handler = workers[environment];
        if (!handler) throw new Error(`no environment ${environment}`);
        const result = (await meter.invoke('worker', () =>
          handler(sqsEvent(messages), lambdaContext('refresh')),
        )) as { batchItemFailures?: Array<{ itemIdentifier: string }> } | undefined;
        return { failedIds: (result?.batchItemFailures ?? []).map((f) => f.itemIdentifier) };
      },
    );
    // Scheduled runs: EventBridge invokes asynchronously, so a run still going when the next is due
    // overlaps it, in another environment.
    const idleSchedulers: Array<(event: unknown, context: Context) => Promise<unknown>> = [];
    let schedulers = 0;
    const measuredFrom = T0 + WARM_UP_MS;
    const endAt = measuredFrom + hours * HOUR_MS;
    const hourEnds: Array<{ depth: number; oldestMs: number; expired: number; deadLettered: number }> = [];
    const runSchedule = async (): Promise<void> => {
      const runs: Promise<void>[] = [];
      for (let at = T0 + 7_000; at < endAt + TAIL_MS; at += design.periodMs) {
        await clock.sleep(at - clock.now());
        if (idleSchedulers.length === 0) {
          schedulers += 1;
          idleSchedulers.push(design.handler(newEnvironment(`schedule-${schedulers}`)));
        }
        const handler = idleSchedulers.pop() as (event: unknown, context: Context) => Promise<unknown>;
        runs.push(
          meter
            .invoke('schedule', () => handler({ source: 'aws.events' }, lambdaContext('refresh')))
            .catch((error: unknown) => {
              log(`  scheduled run failed: ${error instanceof Error ? error.message : String(error)}`);
            })
            .then(() => {
              idleSchedulers.push(handler);
              mapping.poke();
            }),
        );
      }
      await Promise.all(runs);
    };
    const observeHours = async (): Promise<void> => {
      for (let h = 1; h <= hours; h += 1) {
        await clock.sleep(measuredFrom + h * HOUR_MS - clock.now());
        queue.ingest(sqsStub.entries);
        hourEnds.push({
          depth: queue.depth,
          oldestMs: queue.oldestAgeMs(),
          expired: queue.expired,
          deadLettered: queue.deadLettered,
        });
        log(
          `  steady state ${design.id} ${clients}: hour ${h} simulated (${Math.round((performance.now() - started) / 1000)} s real), ` +
            `queue depth ${queue.depth}, Identity calls so far ${world.simulator.identityCalls()}`,
        );
      }
    };
    const started = performance.now();
    await clock.settle(
      (async () => {
        const mappingRun = mapping.run();
        await Promise.all([runSchedule(), observeHours()]);
        mapping.stop();
        await mappingRun;
      })(),
      100_000_000,
    );
    const realMs = performance.now() - started;

    // Per hour.
    const figures: HourFigures[] = [];
    for (let h = 0; h < hours; h += 1) {
      const from = measuredFrom + h * HOUR_MS;
      const to = from + HOUR_MS;
      const replaced = tracker.gaps.filter((g) => g.expiredAt >= from && g.expiredAt < to);
      const neverReplaced = [...tracker.trueExpiry.values()].filter((e) => e >= from && e < to).length;
      const gapsSorted = replaced.map((g) => g.gapMs).sort((a, b) => a - b);
      const p99 =
        gapsSorted.length === 0
          ? Number.NaN
          : (gapsSorted[Math.ceil(0.99 * gapsSorted.length) - 1] as number);
      const dynamoOps: Record<string, number> = {};
      for (const name of events.names('dynamo:')) {
        const count = events.count(name, from, to);
        if (count > 0) dynamoOps[name.slice('dynamo:'.length)] = count;
      }
      const worker = meter.between('worker', from, to);
      const schedule = meter.between('schedule', from, to);
      const end = hourEnds[h] ?? { depth: 0, oldestMs: 0, expired: 0, deadLettered: 0 };
      const previous = hourEnds[h - 1] ?? { expired: 0, deadLettered: 0 };
      // A strongly consistent GetItem of an item under 4 KB: 1 unit, an eventually consistent one half. An index
      // query (eventually consistent): half a unit per 4 KB of entries read (about 100 bytes each), half a
      // unit at least.
      const queryUnits = indexQueries
        .filter((q) => q.at >= from && q.at < to)
        .reduce((sum, q) => sum + 0.5 * Math.max(1, Math.ceil((q.entries * INDEX_ENTRY_BYTES) / 4096)), 0);
      const reads = (dynamoOps.GetItem ?? 0) - 0.5 * events.count(EVENTUAL_READ, from, to) + queryUnits;
      const tokenWrites =
        events.count('metric:RefreshFetched', from, to) + events.count('metric:RefreshWaited', from, to);
      figures.push({
        hour: h + 1,
        identityCalls: events.count('identity', from, to),
        expiries: replaced.length + neverReplaced,
        gapMaxMs:
          neverReplaced > 0 ? Number.POSITIVE_INFINITY : (gapsSorted[gapsSorted.length - 1] ?? Number.NaN),
        gapP99Ms: p99,
        notInTime: replaced.filter((g) => g.gapMs > 1_000).length + neverReplaced,
        workerInvocations: worker.count,
        workerBilledMs: worker.billedMs,
        workerLongestMs: worker.longestMs,
        scheduleInvocations: schedule.count,
        scheduleBilledMs: schedule.billedMs,
        messagesSent: sqsStub.entries.filter((e) => e.sentAt >= from && e.sentAt < to).length,
        sqsSendRequests: events.count('sqs', from, to),
        dynamo: dynamoOps,
        readUnits: reads,
        writeUnits:
          (dynamoOps.UpdateItem ?? 0) +
          (dynamoOps.PutItem ?? 0) +
          tokenWrites * (design.indexWritesPerTokenWrite ?? 0),
        secretsList: events.count('secrets:ListSecrets', from, to),
        secretsGet: events.count('secrets:GetSecretValue', from, to),
        messagesExpired: end.expired - previous.expired,
        messagesDeadLettered: end.deadLettered - previous.deadLettered,
        queueDepth: end.depth,
        oldestMessageAgeMs: end.oldestMs,
      });
    }
    return { design: design.id, clients, transport, latencies, hours: figures, realMs, setupMs };
  } finally {
    await sqsStub.stop();
    await world.stop();
  }
}
