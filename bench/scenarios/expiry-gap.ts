/**
 * Scenario 6, expiry gap: a short token lifespan, the refresher looping in process (a sweep every N s
 * with horizon N, overlapping like an EventBridge schedule) and a steady stream of consumers. Measures
 * how long the store is without a valid token after each expiry, and checks the hard invariant: no
 * vend ever returns a token with less than `minValidity` left (and Marketo accepts every token probed).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { isTokenVendorError } from '../../functions/core/errors.js';
import type { RefreshSummary } from '../../functions/core/token-vendor-api.js';
import { DEFAULT_TOKEN_VENDOR_CONFIG } from '../../functions/core/vendor-config.js';
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs, type Summary, summarize } from '../lib/stats.js';
import { startBenchWorld } from '../lib/world.js';

/** Options of {@link runExpiryGap}. */
export interface ExpiryGapOptions {
  /** Simulator token lifespan. @default 10 */
  readonly lifespanSeconds?: number;
  /** How long consumers keep asking. @default 40_000 */
  readonly durationMs?: number;
  /** Refresher period N; the horizon is the same N. @default 5_000 */
  readonly refreshEveryMs?: number;
  /** Vendor instances (Lambdas) the consumers are spread over. @default 4 */
  readonly instances?: number;
  /** Consumers per instance, each asking in a loop. @default 5 */
  readonly consumersPerInstance?: number;
  /** Pause between one consumer's requests. @default 100 */
  readonly pauseMs?: number;
  /** `minValidity` every consumer asks for. @default 2 */
  readonly minValiditySeconds?: number;
  /** @default 150 */
  readonly identityLatencyMs?: number;
  /** Every n-th vend is used on Marketo REST (simulator) to prove it is accepted. @default 5 */
  readonly probeEvery?: number;
  /** Store polling interval of the gap monitor. @default 25 */
  readonly monitorEveryMs?: number;
  readonly log?: (line: string) => void;
}

/** Everything measured. */
export interface ExpiryGapResult {
  readonly options: Required<Omit<ExpiryGapOptions, 'log'>>;
  readonly vends: number;
  /** Vends whose token had less than minValidity left when the consumer received it (must be 0). */
  readonly underValidity: number;
  /** Least validity any vended token had at receipt, in ms. */
  readonly minRemainingMs: number;
  readonly probes: number;
  /** Probes Marketo (the simulator) refused with 601/602 (must be 0). */
  readonly probeFailures: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly vendLatency: Summary;
  /** Per rotation: ms from the old token's true expiry (at the simulator) to its successor in the store. */
  readonly gapsMs: readonly number[];
  readonly gaps: Summary;
  readonly rotations: number;
  readonly identityCalls: number;
  readonly sweeps: readonly RefreshSummary[];
}

const CLIENT = 'gap-client';

/** Runs the scenario on a fresh loopback world (real time: no clock offset). */
export async function runExpiryGap(options: ExpiryGapOptions = {}): Promise<ExpiryGapResult> {
  const o = {
    lifespanSeconds: options.lifespanSeconds ?? 10,
    durationMs: options.durationMs ?? 40_000,
    refreshEveryMs: options.refreshEveryMs ?? 5_000,
    instances: options.instances ?? 4,
    consumersPerInstance: options.consumersPerInstance ?? 5,
    pauseMs: options.pauseMs ?? 100,
    minValiditySeconds: options.minValiditySeconds ?? 2,
    identityLatencyMs: options.identityLatencyMs ?? 150,
    probeEvery: options.probeEvery ?? 5,
    monitorEveryMs: options.monitorEveryMs ?? 25,
  };
  const log = options.log ?? (() => {});
  const world = await startBenchWorld({
    lifespanSeconds: o.lifespanSeconds,
    identityLatencyMs: o.identityLatencyMs,
  });
  try {
    world.register(CLIENT);
    const end = Date.now() + o.durationMs;
    const running = (): boolean => Date.now() < end;

    // Gap monitor: when each token first appears in the store, and each token's true expiry.
    const store = new DynamoTokenStore({ client: world.clients.dynamo, tableName: world.tableName });
    const trueExpiry = new Map<string, number>();
    const firstInStore = new Map<string, number>();
    const storeOrder: string[] = [];
    const monitor = (async () => {
      while (running()) {
        const current = world.simulator.currentToken(CLIENT);
        if (current && !trueExpiry.has(current.accessToken))
          trueExpiry.set(current.accessToken, current.expiresAt);
        const record = await store.get(CLIENT);
        const token = record?.token?.accessToken;
        if (token && !firstInStore.has(token)) {
          firstInStore.set(token, Date.now());
          storeOrder.push(token);
        }
        await delay(o.monitorEveryMs);
      }
    })();

    // The refresher: a sweep every N s, not waiting for the previous one (like a schedule).
    const refresher = world.vendor({ instanceId: 'refresher' });
    const sweeps: Array<Promise<RefreshSummary>> = [];
    const schedule = (async () => {
      while (running()) {
        sweeps.push(refresher.refreshAll({ horizonMs: o.refreshEveryMs, concurrency: 8 }));
        await delay(o.refreshEveryMs);
      }
    })();

    // Consumers: several vendor instances (Lambdas), several consumers each, asking in a loop.
    let vends = 0;
    let underValidity = 0;
    let minRemainingMs = Number.POSITIVE_INFINITY;
    let probes = 0;
    let probeFailures = 0;
    const errors: Record<string, number> = {};
    const latencies: number[] = [];
    const minValidityMs = o.minValiditySeconds * 1000;
    const probe = async (accessToken: string): Promise<boolean> => {
      const response = await fetch(`${world.simulator.restUrl}/rest/v1/leads.json?batchSize=1`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const body = (await response.json()) as { success?: boolean; errors?: Array<{ code?: string }> };
      return body.success === true;
    };
    const consumer = async (vendor: ReturnType<typeof world.vendor>): Promise<void> => {
      while (running()) {
        const start = nowMs();
        try {
          const token = await vendor.getToken(CLIENT, { minValiditySeconds: o.minValiditySeconds });
          const remaining = token.expiresAt - Date.now();
          latencies.push(nowMs() - start);
          vends += 1;
          minRemainingMs = Math.min(minRemainingMs, remaining);
          if (remaining < minValidityMs) underValidity += 1;
          if (vends % o.probeEvery === 0) {
            probes += 1;
            if (!(await probe(token.accessToken))) probeFailures += 1;
          }
        } catch (error) {
          const code = isTokenVendorError(error)
            ? error.code
            : error instanceof Error
              ? error.name
              : 'Unknown';
          errors[code] = (errors[code] ?? 0) + 1;
        }
        await delay(o.pauseMs);
      }
    };
    const vendors = Array.from({ length: o.instances }, (_, i) =>
      world.vendor({ instanceId: `consumer-${i}` }),
    );
    await Promise.all(
      vendors.flatMap((vendor) => Array.from({ length: o.consumersPerInstance }, () => consumer(vendor))),
    );
    await Promise.all([monitor, schedule]);
    const settled = await Promise.all(sweeps);
    const gapsMs: number[] = [];
    for (let i = 1; i < storeOrder.length; i += 1) {
      const previous = storeOrder[i - 1] as string;
      const next = storeOrder[i] as string;
      const expiredAt = trueExpiry.get(previous);
      const storedAt = firstInStore.get(next);
      if (expiredAt !== undefined && storedAt !== undefined) gapsMs.push(Math.max(0, storedAt - expiredAt));
    }
    const result: ExpiryGapResult = {
      options: o,
      vends,
      underValidity,
      minRemainingMs,
      probes,
      probeFailures,
      errors,
      vendLatency: summarize(latencies),
      gapsMs,
      gaps: summarize(gapsMs),
      rotations: gapsMs.length,
      identityCalls: world.simulator.identityCalls(CLIENT),
      sweeps: settled,
    };
    log(
      `  expiry gap: ${vends} vends, ${underValidity} under minValidity, ${result.rotations} rotations, ` +
        `gaps ${gapsMs.map((g) => fmt(g)).join(', ')} ms, ${result.identityCalls} Identity calls`,
    );
    return result;
  } finally {
    await world.stop();
  }
}

/** The scenario for `npm run bench`. */
export const expiryGapScenario: Scenario = {
  id: 'gap',
  title: '6. Expiry gap',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const r = await runExpiryGap(quick ? { durationMs: 22_000, log } : { log });
    const o = r.options;
    const violations: string[] = [];
    if (r.underValidity > 0)
      violations.push(
        `expiry gap: ${r.underValidity} vends returned a token with less than minValidity left`,
      );
    if (r.probeFailures > 0)
      violations.push(
        `expiry gap: Marketo refused ${r.probeFailures} of ${r.probes} vended tokens (601/602)`,
      );
    const slackMs = DEFAULT_TOKEN_VENDOR_CONFIG.expirySlackMs;
    const guardSeconds = DEFAULT_TOKEN_VENDOR_CONFIG.rotationGuardSeconds;
    const targets: TargetCheck[] = [
      {
        target: 'max time from a token’s expiry to its successor in the store ≤ 1 s (clocks agree)',
        measured: `max ${fmt(r.gaps.max)} ms over ${r.rotations} rotations`,
        met: r.rotations > 0 && r.gaps.max <= 1_000,
        ...(r.rotations > 0 && r.gaps.max > 1_000
          ? {
              note:
                `missed by ${fmt(r.gaps.max - 1_000)} ms. The engine asks Identity ${slackMs} ms after the ` +
                'stored (conservative) expiry; a longer gap means that ask came early (Identity kept the old ' +
                'token) and the re-ask waited out its `expires_in`, or a sweep or vend reached the expiry late',
            }
          : {}),
      },
      {
        target: 'Identity calls per token ≤ 2 (1 when clocks agree)',
        measured: `${fmt(r.identityCalls / Math.max(1, r.rotations + 1))} per token`,
        met: r.identityCalls <= 2 * (r.rotations + 1),
      },
      {
        target: 'vends with less than minValidity left = 0 (hard invariant)',
        measured: `${r.underValidity} of ${r.vends.toLocaleString('en-US')}`,
        met: r.underValidity === 0,
      },
    ];
    const errorText = Object.entries(r.errors)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const markdown = [
      `Simulator token lifespan ${o.lifespanSeconds} s, Identity latency ${o.identityLatencyMs} ms, real time. ` +
        `The refresher (its own vendor instance) starts \`refreshAll({ horizonMs: ${o.refreshEveryMs} })\` every ` +
        `${o.refreshEveryMs / 1000} s without waiting for the previous sweep, like the EventBridge schedule. ` +
        `${o.instances * o.consumersPerInstance} consumers over ${o.instances} vendor instances ask for a token with ` +
        `\`minValidity=${o.minValiditySeconds}\` in a loop (${o.pauseMs} ms pause) for ${o.durationMs / 1000} s; ` +
        `every ${o.probeEvery}th vended token is used on the simulator's REST API. A monitor polls the store every ` +
        `${o.monitorEveryMs} ms; a gap is the time from the old token's true expiry (the simulator's) to the first ` +
        `poll that sees its successor (so ±${o.monitorEveryMs} ms). Engine defaults: rotation guard ${guardSeconds} s, ` +
        `expiry slack ${slackMs} ms (after a not-yet-rotated answer the engine re-asks once its \`expires_in\` ` +
        'has run out, then on a short jittered schedule).',
      '',
      '| Figure | Value |',
      '|---|---|',
      `| Rotations observed | ${r.rotations} |`,
      `| Expiry → successor in store | max ${fmt(r.gaps.max)} ms; per rotation: ${r.gapsMs.map((g) => fmt(g)).join(', ')} ms |`,
      `| Identity calls | ${r.identityCalls} (${fmt(r.identityCalls / Math.max(1, r.rotations + 1))} per token) |`,
      `| Vends | ${r.vends.toLocaleString('en-US')} |`,
      `| Vends with less than minValidity (${o.minValiditySeconds} s) left at receipt | **${r.underValidity}** (least validity seen: ${fmt(r.minRemainingMs / 1000)} s) |`,
      `| REST probes refused (601/602) | ${r.probeFailures} of ${r.probes} |`,
      `| Vend errors | ${errorText === '' ? 'none' : errorText} |`,
      `| Vend latency | p50 ${fmt(r.vendLatency.p50)} ms, p95 ${fmt(r.vendLatency.p95)} ms, p99 ${fmt(r.vendLatency.p99)} ms, max ${fmt(r.vendLatency.max)} ms |`,
      '',
      `With a ${o.lifespanSeconds} s lifespan the ${guardSeconds} s rotation guard is a large part of each ` +
        `token's life: consumers asking in the last ${guardSeconds} s (plus minValidity) wait for the successor, ` +
        'which is what the latency tail shows. With real 3,600 s tokens that window is 0.1 % of the time.',
    ].join('\n');
    return {
      id: this.id,
      title: this.title,
      markdown,
      console: [
        `gap: ${r.rotations} rotations, expiry → successor max ${fmt(r.gaps.max)} ms (${r.gapsMs.map((g) => fmt(g)).join(', ')})`,
        `gap: ${r.vends} vends, ${r.underValidity} under minValidity, ${r.probeFailures}/${r.probes} probes refused, ` +
          `${r.identityCalls} Identity calls, errors: ${errorText === '' ? 'none' : errorText}`,
      ],
      targets,
      violations,
      charts: [],
      durationMs: nowMs() - started,
    };
  },
};
