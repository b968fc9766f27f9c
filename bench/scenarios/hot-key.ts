/**
 * Scenario 1b, the hot key at the rotation instant: W vend Lambdas (each its own vendor instance) wait on one
 * client's expiry while the refresher replaces its token, on a virtual clock, against a token store behind
 * DynamoDB's per-partition limits (3,000 read units, 1,000 write units a second; testing/key-throughput-limit.ts).
 * Counts what reaches the key each second, what is throttled, and what the consumers see.
 */
import { isTokenVendorError } from '../../functions/core/errors.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import type { TokenVendorConfig } from '../../functions/core/vendor-config.js';
import { FakeClock } from '../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../testing/fake-identity.js';
import { limitKeyThroughput } from '../../testing/key-throughput-limit.js';
import { MemoryTokenStore } from '../../testing/memory-token-store.js';
import type { TargetCheck } from '../lib/scenario.js';
import { fmt, type Summary, seededRandom, summarize } from '../lib/stats.js';
import { withLatency } from '../lib/virtual-aws.js';

/** Options of {@link runHotKey}. */
export interface HotKeyOptions {
  /** Consumers waiting on the client. */
  readonly waiters: number;
  /** @default 200 */
  readonly identityLatencyMs?: number;
  /** One DynamoDB request. @default 5 */
  readonly dynamoMs?: number;
  /** Consumers arrive over this window before the expiry, each asking for 20 s of validity. @default 14_000 */
  readonly arrivalWindowMs?: number;
  /** Whether the refresher's worker replaces the token at its instant (the deployed steady state). @default true */
  readonly refresher?: boolean;
  /** Engine settings over the production defaults. */
  readonly config?: Partial<TokenVendorConfig>;
  /** @default 25 */
  readonly seed?: number;
}

/** What one rotation met by `waiters` consumers did. */
export interface HotKeyResult {
  readonly waiters: number;
  /** Read units the key served, in its busiest second and in all. */
  readonly readUnitsPeakSecond: number;
  readonly readUnits: number;
  readonly consistentReads: number;
  readonly eventualReads: number;
  /** Read attempts refused, and reads failed after the SDK's retries. */
  readonly throttledReads: number;
  readonly failedReads: number;
  readonly writeUnitsPeakSecond: number;
  readonly throttledWrites: number;
  readonly identityCalls: number;
  /** Consumers answered with an error, by code. */
  readonly errors: Readonly<Record<string, number>>;
  /** From the token's true expiry to each consumer's answer (all consumers wait for the successor). */
  readonly answeredAfterExpiry: Summary;
  /** From the expiry to the successor in the store. */
  readonly gapMs: number;
}

const CLIENT = 'hot-client';

/** One rotation with `waiters` consumers on the virtual clock. */
export async function runHotKey(options: HotKeyOptions): Promise<HotKeyResult> {
  const random = seededRandom(options.seed ?? 25);
  const clock = new FakeClock();
  const credentials = testCredentials(CLIENT);
  const identity = new FakeIdentity(clock, [credentials]);
  identity.latencyMs = options.identityLatencyMs ?? 200;
  const memory = new MemoryTokenStore();
  const limited = limitKeyThroughput(withLatency(clock, memory, options.dynamoMs ?? 5), clock, { random });
  const config: Partial<TokenVendorConfig> = options.config ?? {};
  let instances = 0;
  const vendor = () => {
    instances += 1;
    return createTokenVendor(
      {
        store: limited.store,
        credentials: new MemoryCredentials([credentials]),
        identity,
        clock,
        instanceId: `lambda-${instances}`,
        random,
      },
      config,
    );
  };
  // The token of the hour: fetched now, expiring in an hour.
  await clock.settle(vendor().getToken(CLIENT));
  const stored = memory.items.get(CLIENT);
  const trueExpiry = identity.current(CLIENT)?.expiresAt ?? 0;
  const due = stored?.refreshAt ?? trueExpiry;
  const windowMs = options.arrivalWindowMs ?? 14_000;
  await clock.advance(trueExpiry - windowMs - 1_000 - clock.now());
  const identityBefore = identity.callCount(CLIENT);
  const answeredAt: number[] = [];
  const errors: Record<string, number> = {};
  const consumers = Array.from({ length: options.waiters }, async () => {
    await clock.sleep(Math.floor(random() * windowMs));
    try {
      await vendor().getToken(CLIENT, { minValiditySeconds: 20, maxWaitMs: 25_000 });
      answeredAt.push(clock.now());
    } catch (error) {
      const code = isTokenVendorError(error) ? error.code : error instanceof Error ? error.name : 'Unknown';
      errors[code] = (errors[code] ?? 0) + 1;
    }
  });
  const refresher =
    (options.refresher ?? true)
      ? (async () => {
          // The message becomes visible 250 ms (plus up to a second) before the refresh is due.
          await clock.sleep(due - 250 - Math.floor(random() * 1_000) - clock.now());
          await vendor().refreshDue({ clients: [{ clientId: CLIENT }], horizonMs: 5_000 });
        })()
      : Promise.resolve();
  await clock.settle(Promise.all([...consumers, refresher]), 10_000_000);
  const successorStored = memory.items.get(CLIENT)?.token;
  const stats = limited.stats(CLIENT);
  const peak = (perSecond: ReadonlyMap<number, number>) => Math.max(0, ...perSecond.values());
  return {
    waiters: options.waiters,
    readUnitsPeakSecond: peak(stats.readUnitsPerSecond),
    readUnits: [...stats.readUnitsPerSecond.values()].reduce((a, b) => a + b, 0),
    consistentReads: stats.consistentReads,
    eventualReads: stats.eventualReads,
    throttledReads: stats.throttledReads,
    failedReads: stats.failedReads,
    writeUnitsPeakSecond: peak(stats.writeUnitsPerSecond),
    throttledWrites: stats.throttledWrites,
    identityCalls: identity.callCount(CLIENT) - identityBefore,
    errors,
    answeredAfterExpiry: summarize(answeredAt.map((at) => at - trueExpiry)),
    gapMs: (successorStored?.obtainedAt ?? Number.NaN) - trueExpiry,
  };
}

/** The hot-key part of scenario 1: both refresher states at each size, as a report section. */
export async function hotKeySection(
  sizes: readonly number[],
  log: (line: string) => void,
): Promise<{ markdown: string; console: string[]; targets: TargetCheck[]; violations: string[] }> {
  const runs: Array<{ refresher: boolean; result: HotKeyResult }> = [];
  for (const waiters of sizes)
    for (const refresher of [true, false]) {
      const result = await runHotKey({ waiters, refresher });
      runs.push({ refresher, result });
      log(
        `  hot key ${waiters} waiters${refresher ? '' : ' (no refresher)'}: peak ${fmt(result.readUnitsPeakSecond)} RU/s, ` +
          `${result.throttledReads} throttled, ${result.identityCalls} Identity call(s), answered max ${fmt(result.answeredAfterExpiry.max)} ms after expiry`,
      );
    }
  const errorsOf = (r: HotKeyResult): number => Object.values(r.errors).reduce((a, b) => a + b, 0);
  const rows = runs.map(
    ({ refresher, result: r }) =>
      `| ${n(r.waiters)} | ${refresher ? 'at work' : 'down (Lambdas elect a holder)'} | ${fmt(r.readUnitsPeakSecond)} | ` +
      `${n(r.readUnits)} (${n(r.consistentReads)} consistent, ${n(r.eventualReads)} eventual) | ${n(r.throttledReads)} / ${n(r.failedReads)} | ` +
      `${fmt(r.writeUnitsPeakSecond)} | ${r.identityCalls} | ${errorsOf(r) === 0 ? '0' : JSON.stringify(r.errors)} | ` +
      `${n(r.answeredAfterExpiry.p50)} / ${n(r.answeredAfterExpiry.p99)} / ${n(r.answeredAfterExpiry.max)} ms | ${n(r.gapMs)} ms |`,
  );
  const largest = Math.max(...sizes);
  const violations = runs
    .filter(({ result }) => result.identityCalls !== 1)
    .map(
      ({ refresher, result }) =>
        `hot key: ${result.waiters} waiters${refresher ? '' : ' without the refresher'} made ${result.identityCalls} Identity calls for one expiry (must be 1)`,
    );
  const targets: TargetCheck[] = [
    {
      target: `hot key: ${sizes.map(n).join(' and ')} waiters on one client: 0 consumer errors, 1 Identity call, every consumer answered within 3 s of the expiry`,
      measured: runs
        .map(
          ({ refresher, result: r }) =>
            `${n(r.waiters)}${refresher ? '' : ' (no refresher)'}: ${errorsOf(r)} errors, ${r.identityCalls} call, max ${n(r.answeredAfterExpiry.max)} ms`,
        )
        .join('; '),
      met: runs.every(
        ({ result: r }) => errorsOf(r) === 0 && r.identityCalls === 1 && r.answeredAfterExpiry.max <= 3_000,
      ),
    },
    {
      target: 'hot key: 1,000 waiters stay under the key’s 3,000 read units a second (0 throttled reads)',
      measured: runs
        .filter(({ result }) => result.waiters === 1_000)
        .map(
          ({ refresher, result: r }) =>
            `${refresher ? 'refresher' : 'no refresher'}: peak ${fmt(r.readUnitsPeakSecond)}, ${r.throttledReads} throttled`,
        )
        .join('; '),
      met: runs
        .filter(({ result }) => result.waiters === 1_000)
        .every(({ result }) => result.throttledReads === 0),
    },
  ];
  const markdown = [
    '### Hot key at the rotation instant',
    '',
    'One token item lives in one DynamoDB partition, which serves 3,000 read units and 1,000 write units a second ' +
      '(on-demand tables too); a strongly consistent read of a small item costs 1 unit, an eventually consistent one ' +
      'half. On paper, before this change: every Lambda waiting on the rotation woke at the due instant and read ' +
      'strongly consistently, and every one waiting on the lease polled every 100 ms (±50 %), strongly consistent: ' +
      '10 units a second each, so about 300 waiters reached the limit; beyond it reads were throttled, the SDK retried ' +
      'once, and a read still throttled made the waiter refresh **without the lease**, one Identity call per waiter. ' +
      'Now: waiters wake spread over 500 ms after the due instant (`rotationSpreadMs`), poll eventually consistently ' +
      'with a backoff from 100 ms to 1.6 s, read strongly consistently once, only before taking the lease, and ' +
      'wait out a throttled read or write (it never sends them to Identity); the lease holder retries its throttled ' +
      'completion write. A waiter then costs about 1 to 2 units: 1,000 waiters stay under the limit, 5,000 exceed ' +
      'it and degrade to throttled, retried reads and a longer wait, without an error or a second Identity call.',
    '',
    `Simulated on a virtual clock (bench/scenarios/hot-key.ts): W vend Lambdas, each its own vendor instance, ask for ` +
      '20 s of validity at random over the 14 s before the expiry, so each waits for the successor; the refresher’s ' +
      'worker arrives 250 ms to 1.25 s before the due instant (as its delayed message does), or is down. The store is the ' +
      'in-memory token store behind the key’s limits (testing/key-throughput-limit.ts: a 1 s sliding window per key, the ' +
      'SDK’s two attempts with its backoff, an eventually consistent read sees the item as it was 250 ms before); ' +
      'DynamoDB takes 5 ms a request, Identity 200 ms. Before this change (measured on the same simulation at ' +
      'commit 67eb86c): 1,000 waiters with the refresher at work peaked at 1,002 read units a second; with the ' +
      'refresher down they peaked at 3,000, with 1,998 throttled attempts, 999 failed reads and **1,000 Identity ' +
      'calls**; 5,000 waiters made **5,001 Identity calls** (7,001 failed reads), refresher or not.',
    '',
    '| Waiters | Refresher | Read units/s, busiest second (limit 3,000) | Read units (reads) | Throttled attempts / failed reads | Write units/s, busiest | Identity calls | Consumer errors | Answered after expiry p50 / p99 / max | Expiry → successor stored |',
    '|---:|---|---:|---|---:|---:|---:|---|---|---:|',
    ...rows,
    '',
    `At ${n(largest)} waiters the key is over its limit for about a second: the throttled reads are retried after a ` +
      'backoff and cost nothing (DynamoDB does not bill a throttled request), and the price is the longer wait above.',
  ].join('\n');
  return {
    markdown,
    console: runs.map(
      ({ refresher, result: r }) =>
        `hot key ${String(r.waiters).padStart(5)} waiters${refresher ? '' : ' (no refresher)'}: peak ${fmt(r.readUnitsPeakSecond)} RU/s, ` +
        `${r.throttledReads} throttled, ${r.identityCalls} Identity call(s), ${errorsOf(r)} errors, max ${n(r.answeredAfterExpiry.max)} ms`,
    ),
    targets,
    violations,
  };
}

const n = (value: number): string =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
