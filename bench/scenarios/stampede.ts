/**
 * Scenario 1, stampede: N consumers spread over worker processes (each consumer its own vendor
 * instance, as N concurrent Lambdas would be), all asking at once for a client whose token just
 * expired. Hard invariant: exactly one Identity call per expiry. Baseline: each consumer fetches its
 * own token from Identity, as today's Marketo clients do.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../../functions/core/fingerprint.js';
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs, type Summary, spread, summarize } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg.js';
import { startBenchWorld } from '../lib/world.js';
import { hotKeySection } from './hot-key.js';
import type { ConsumerResult, ParentMessage, StampedeMode, WorkerMessage } from './stampede-protocol.js';

/** Options of {@link runStampede}. */
export interface StampedeOptions {
  /** Concurrent consumers per size. @default [1, 10, 100, 1000] */
  readonly sizes?: readonly number[];
  /** Expiries (rounds) per size. @default 3 */
  readonly rounds?: number;
  /** Worker processes. @default 4 */
  readonly workers?: number;
  /** Simulator Identity latency. @default 150 */
  readonly identityLatencyMs?: number;
  readonly log?: (line: string) => void;
}

/** One round: one expiry met by `consumers` concurrent consumers. */
export interface StampedeRound {
  readonly mode: StampedeMode;
  readonly consumers: number;
  readonly identityCalls: number;
  readonly failures: number;
  readonly failureCodes: readonly string[];
  /** Distinct tokens the consumers received (1 when they all share the successor). */
  readonly distinctTokens: number;
  /** Whether some consumer still got the expired token. */
  readonly gotExpiredToken: boolean;
  readonly wallMs: number;
  readonly latency: Summary;
  /** Where vendor consumers' tokens came from. */
  readonly sources: Readonly<Record<string, number>>;
}

/** Everything measured, per size. */
export interface StampedeResult {
  readonly workers: number;
  readonly identityLatencyMs: number;
  readonly sizes: ReadonlyArray<{
    readonly consumers: number;
    readonly vendor: readonly StampedeRound[];
    readonly baseline: readonly StampedeRound[];
  }>;
  /** Hard invariants broken. */
  readonly violations: readonly string[];
}

const WORKER = fileURLToPath(new URL('./stampede-worker.ts', import.meta.url));

/** A forked worker with a promise-per-reply helper. */
class WorkerHandle {
  readonly #child: ChildProcess;
  readonly #waiting: Array<{ type: WorkerMessage['type']; resolve: (m: WorkerMessage) => void }> = [];
  readonly exited: Promise<void>;

  constructor() {
    // tsx as a loader works whoever the parent is (tsx CLI, vitest); output goes to our stderr.
    this.#child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], silent: true });
    this.#child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.#child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (message: WorkerMessage) => {
      const index = this.#waiting.findIndex((w) => w.type === message.type);
      if (index >= 0) this.#waiting.splice(index, 1)[0]?.resolve(message);
    });
    this.#child.once('exit', (code) => {
      for (const w of this.#waiting.splice(0)) {
        w.resolve({
          type: 'result',
          round: -1,
          results: [{ ok: false, latencyMs: 0, code: `exit ${code}` }],
        });
      }
    });
  }

  request<T extends WorkerMessage['type']>(
    message: ParentMessage,
    reply: T,
  ): Promise<Extract<WorkerMessage, { type: T }>> {
    return new Promise((resolve) => {
      this.#waiting.push({ type: reply, resolve: (m) => resolve(m as Extract<WorkerMessage, { type: T }>) });
      this.#child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.connected) this.#child.send({ type: 'exit' } satisfies ParentMessage);
    const timer = setTimeout(() => this.#child.kill(), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Splits `total` consumers over `workers` as evenly as possible. */
export const distribute = (total: number, workers: number): number[] =>
  Array.from({ length: workers }, (_, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0));

/** Runs the stampede on a fresh loopback world; the caller checks `violations`. */
export async function runStampede(options: StampedeOptions = {}): Promise<StampedeResult> {
  const sizes = options.sizes ?? [1, 10, 100, 1000];
  const rounds = options.rounds ?? 3;
  const workerCount = options.workers ?? 4;
  const identityLatencyMs = options.identityLatencyMs ?? 150;
  const log = options.log ?? (() => {});
  const lifespanSeconds = 3600;
  const world = await startBenchWorld({ lifespanSeconds, identityLatencyMs });
  const workers = Array.from({ length: workerCount }, () => new WorkerHandle());
  const violations: string[] = [];
  let round = 0;
  try {
    await Promise.all(
      workers.map((w, workerIndex) =>
        w.request(
          {
            type: 'init',
            dynamoEndpoint: world.dynamo.endpoint,
            secretsEndpoint: world.secrets.endpoint,
            tableName: world.tableName,
            workerIndex,
          },
          'ready',
        ),
      ),
    );
    const results: Array<StampedeResult['sizes'][number]> = [];
    for (const consumers of sizes) {
      const clientId = `stampede-${consumers}`;
      const credentials = world.register(clientId);
      // Prime: a token exists in the store (and at the simulator) before the first expiry.
      await world.vendor().getToken(clientId);
      const runRound = async (mode: StampedeMode): Promise<StampedeRound> => {
        round += 1;
        const expired = world.simulator.currentToken(clientId);
        // Jump just past the token's expiry: every consumer now meets an expired token.
        world.clock.offsetMs += lifespanSeconds * 1000 + 2_000;
        world.simulator.resetCounters();
        const counts = distribute(consumers, workerCount);
        await Promise.all(
          workers.map((w, i) =>
            w.request(
              {
                type: 'prepare',
                round,
                mode,
                clientId,
                consumers: counts[i] ?? 0,
                offsetMs: world.clock.offsetMs,
                ...(mode === 'baseline' ? { credentials } : {}),
              },
              'prepared',
            ),
          ),
        );
        const start = nowMs();
        const replies = await Promise.all(workers.map((w) => w.request({ type: 'go', round }, 'result')));
        const wallMs = nowMs() - start;
        const all: ConsumerResult[] = replies.flatMap((r) => r.results);
        const ok = all.filter((r) => r.ok);
        const fingerprints = new Set(ok.map((r) => r.tokenFingerprint));
        const expiredFp = expired ? fingerprint(expired.accessToken) : undefined;
        const sources: Record<string, number> = {};
        for (const r of ok) if (r.source) sources[r.source] = (sources[r.source] ?? 0) + 1;
        return {
          mode,
          consumers,
          identityCalls: world.simulator.identityCalls(clientId),
          failures: all.length - ok.length,
          failureCodes: [...new Set(all.filter((r) => !r.ok).map((r) => r.code ?? '?'))],
          distinctTokens: fingerprints.size,
          gotExpiredToken: mode === 'vendor' && expiredFp !== undefined && fingerprints.has(expiredFp),
          wallMs,
          latency: summarize(all.map((r) => r.latencyMs)),
          sources,
        };
      };
      const vendor: StampedeRound[] = [];
      for (let r = 0; r < rounds; r += 1) {
        const outcome = await runRound('vendor');
        vendor.push(outcome);
        log(
          `  stampede ${consumers} consumers, expiry ${r + 1}: ${outcome.identityCalls} Identity call(s), ` +
            `${outcome.failures} failed, time to token p50 ${fmt(outcome.latency.p50)} ms, max ${fmt(outcome.latency.max)} ms`,
        );
        if (outcome.identityCalls !== 1) {
          violations.push(
            `stampede: ${consumers} consumers made ${outcome.identityCalls} Identity calls for one expiry (must be 1)`,
          );
        }
        // A consumer answered with a typed, retryable error is reported, not an invariant: the invariants
        // are one Identity call per expiry and never a wrong (expired or divergent) token.
        if (outcome.distinctTokens > 1 || outcome.gotExpiredToken) {
          violations.push(
            `stampede: ${consumers} consumers got ${outcome.distinctTokens} distinct tokens` +
              (outcome.gotExpiredToken ? ' including the expired one' : ''),
          );
        }
      }
      const baseline: StampedeRound[] = [];
      for (let r = 0; r < rounds; r += 1) baseline.push(await runRound('baseline'));
      log(
        `  baseline ${consumers} consumers: ${baseline.map((b) => b.identityCalls).join(', ')} Identity calls per expiry`,
      );
      results.push({ consumers, vendor, baseline });
    }
    return { workers: workerCount, identityLatencyMs, sizes: results, violations };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await world.stop();
  }
}

const callsText = (rounds: readonly StampedeRound[]): string => {
  const calls = rounds.map((r) => r.identityCalls);
  const min = Math.min(...calls);
  const max = Math.max(...calls);
  return min === max ? `${min}` : `${min}–${max}`;
};

/** The scenario for `npm run bench`. */
export const stampedeScenario: Scenario = {
  id: 'stampede',
  title: '1. Identity calls under a stampede',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const result = await runStampede({
      sizes: quick ? [1, 10, 100] : [1, 10, 100, 1000],
      rounds: quick ? 1 : 3,
      log,
    });
    const hotKey = await hotKeySection(quick ? [300, 1_000] : [1_000, 5_000], log);
    const rows = result.sizes.map((s) => {
      const vendorCalls = s.vendor.map((r) => r.identityCalls);
      const baselineCalls = s.baseline.map((r) => r.identityCalls);
      const meanVendor = vendorCalls.reduce((a, b) => a + b, 0) / vendorCalls.length;
      const meanBaseline = baselineCalls.reduce((a, b) => a + b, 0) / baselineCalls.length;
      const latency = summarize(s.vendor.flatMap((r) => [r.latency.p50]));
      const worst = Math.max(...s.vendor.map((r) => r.latency.max));
      const sources = s.vendor.reduce<Record<string, number>>((acc, r) => {
        for (const [k, v] of Object.entries(r.sources)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {});
      return { s, meanVendor, meanBaseline, latency, worst, sources };
    });
    const table = [
      '| Consumers | Vendor: Identity calls per expiry | Baseline: Identity calls per expiry | Ratio | Vendor time to token, p50 over expiries [min–max] | Slowest consumer | Token source (all expiries) | Consumers failed |',
      '|---:|---:|---:|---:|---|---:|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.s.consumers.toLocaleString('en-US')} | ${callsText(r.s.vendor)} | ${callsText(r.s.baseline)} | ` +
          `${fmt(r.meanBaseline / r.meanVendor)} : 1 | ${fmt(r.latency.p50)} ms [${fmt(r.latency.min)}–${fmt(r.latency.max)}] | ` +
          `${fmt(r.worst)} ms | ${Object.entries(r.sources)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} | ${
            r.s.vendor.reduce((n, x) => n + x.failures, 0) === 0
              ? '0'
              : `${r.s.vendor.reduce((n, x) => n + x.failures, 0)} (${[
                  ...new Set(r.s.vendor.flatMap((x) => x.failureCodes)),
                ].join(', ')})`
          } |`,
      ),
    ];
    const rounds = result.sizes[0]?.vendor.length ?? 0;
    const allOne = result.sizes.every((s) => s.vendor.every((r) => r.identityCalls === 1));
    const targets: TargetCheck[] = [
      {
        target: 'exactly 1 Identity call per expiry at every size (hard invariant)',
        measured: result.sizes.map((s) => `${s.consumers}: ${callsText(s.vendor)}`).join('; '),
        met: allOne,
      },
    ];
    const markdown = [
      `${result.workers} worker processes (\`child_process.fork\`), each consumer its own vendor instance ` +
        '(own memory cache and in-process single flight, as N concurrent Lambdas would be), all sharing one ' +
        'dynalite and one simulator in the parent. The consumers meet a token that expired 2 s earlier ' +
        `(the shared clock is moved past the expiry). Simulator Identity latency ${result.identityLatencyMs} ms; ` +
        `engine defaults (lease poll 100 ms ±50 %). ${rounds} expiries per size; every figure is per expiry.`,
      '',
      ...table,
      '',
      'Baseline: every consumer fetches its own token from Identity, as node-marketo, marketo-rest-python ' +
        "and Marketo's sample code do (Identity then returns the same token to all, but each call counts).",
      '',
      '![Identity calls per expiry, vendor vs per-job baseline](benchmarks/stampede.svg)',
    ].join('\n');
    const chart = barChartSvg({
      title: 'Identity calls per token expiry',
      categories: result.sizes.map((s) => `${s.consumers.toLocaleString('en-US')} consumers`),
      series: [
        {
          name: 'per-job baseline (each consumer calls Identity)',
          color: '#d9822b',
          values: rows.map((r) => r.meanBaseline),
        },
        { name: 'token vendor', color: '#2b6cb0', values: rows.map((r) => r.meanVendor) },
      ],
      yLabel: 'Identity calls',
      log: true,
    });
    const consoleLines = rows.map(
      (r) =>
        `stampede ${String(r.s.consumers).padStart(5)} consumers: vendor ${callsText(r.s.vendor)} call(s)/expiry, ` +
        `baseline ${callsText(r.s.baseline)}, ratio ${fmt(r.meanBaseline / r.meanVendor)}:1, ` +
        `time to token p50 ${spread(r.s.vendor[0]?.latency ?? summarize([]))}`,
    );
    return {
      id: this.id,
      title: this.title,
      markdown: `${markdown}\n\n${hotKey.markdown}`,
      console: [...consoleLines, ...hotKey.console],
      targets: [...targets, ...hotKey.targets],
      violations: [...result.violations, ...hotKey.violations],
      charts: [{ file: 'stampede.svg', alt: 'Identity calls per expiry', svg: chart }],
      durationMs: nowMs() - started,
    };
  },
};
