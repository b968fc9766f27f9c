/**
 * The budget's waits on a virtual clock (issue 27, "permits without stalls"): the same shape as the budget
 * scenario (4 vend "Lambdas" sharing one budget store, 8 greedy consumers each, 150 ms Marketo calls on a
 * simulated instance of 100 calls per 20 s and 10 concurrent), but time is a `FakeClock`, so the figures
 * are the algorithm's and not the machine's: a loaded 2-core machine turns permit round trips into late
 * permits and says little about how long a consumer waits in line. Network and store latencies are
 * modelled (5 ms each way to the vendor, 3 ms per store call).
 */
import { MemoryBudgetStore } from '../../functions/adapters/memory-budget-store.js';
import {
  createInstanceBudget,
  DEFAULT_TIMING,
  type InstanceBudget,
  PermitUnavailableError,
} from '../../functions/core/budget/index.js';
import { MarketoLimiter } from '../../local/marketo-limits.js';
import { FakeClock } from '../../testing/clocks.js';
import { type Summary, summarize } from '../lib/stats.js';

const HOST = 'bench-virtual.mktorest.com';
const START = Date.UTC(2026, 11, 1, 15, 0, 0);
const WINDOW_MS = 20_000;
const NETWORK_MS = 5;
const STORE_MS = 3;
const CALL_MS = 150;
/** The client library's use-by reckoning (client/permits.ts): a permit past it is given back unused. */
const USE_BY_MS = DEFAULT_TIMING.permitUseByMs;

export interface VirtualBudgetOptions {
  readonly vendors?: number;
  readonly consumersPerVendor?: number;
  readonly durationMs?: number;
  /** Pacing on (the default), or the window's whole rate as one burst (grants as fast as they free up). */
  readonly paced?: boolean;
}

export interface VirtualBudgetResult {
  readonly name: string;
  readonly refused606: number;
  readonly refused615: number;
  readonly calls: number;
  /** Calls per 20 s after the first window (the sustained rate). */
  readonly perWindow: number;
  /** Per call: from the consumer's first ask to its request leaving for Marketo. */
  readonly wait: Summary;
  readonly late: number;
}

/** A store whose every call takes `STORE_MS` of virtual time (DynamoDB on a good day). */
const slowStore = (clock: FakeClock): MemoryBudgetStore => {
  const store = new MemoryBudgetStore();
  for (const name of ['get', 'save', 'release'] as const) {
    const inner = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(store, {
      [name]: async (...args: unknown[]) => {
        await clock.sleep(STORE_MS);
        return inner(...args);
      },
    });
  }
  return store;
};

export async function runVirtualBudget(options: VirtualBudgetOptions = {}): Promise<VirtualBudgetResult> {
  const vendors = options.vendors ?? 4;
  const perVendor = options.consumersPerVendor ?? 8;
  const durationMs = options.durationMs ?? 120_000;
  const paced = options.paced ?? true;
  const clock = new FakeClock(START);
  const store = slowStore(clock);
  const limiter = new MarketoLimiter({ callsPerWindow: 100, windowMs: WINDOW_MS, concurrentCalls: 10 }, () =>
    clock.now(),
  );
  let seed = 7;
  const random = () => {
    seed = (seed * 16_807) % 2_147_483_647;
    return seed / 2_147_483_647;
  };
  const budgets: InstanceBudget[] = Array.from({ length: vendors }, () =>
    createInstanceBudget(
      { store, clock, random },
      paced ? {} : { timing: { ...DEFAULT_TIMING, burstCalls: 100 } },
    ),
  );
  const deadline = START + durationMs;
  const sentAt: number[] = [];
  const waits: number[] = [];
  let late = 0;

  const consumer = async (index: number) => {
    const budget = budgets[index % vendors] as InstanceBudget;
    const holder = {
      target: { clientId: index % 2 === 0 ? 'sync-orders' : 'sync-leads' },
      principal: 'bench',
    };
    let firstAsked = clock.now();
    while (clock.now() < deadline) {
      const asked = clock.now();
      await clock.sleep(NETWORK_MS);
      let permit: Awaited<ReturnType<InstanceBudget['acquire']>>;
      try {
        permit = await budget.acquire(HOST, { maxWaitMs: 10_000 }, { holder });
      } catch (error) {
        if (!(error instanceof PermitUnavailableError)) throw error;
        await clock.sleep(NETWORK_MS + error.retryAfterMs + Math.floor(random() * 100));
        continue;
      }
      await clock.sleep(NETWORK_MS);
      if (clock.now() > asked + permit.waitedMs + USE_BY_MS) {
        late += 1;
        void budget.release(HOST, permit.permitId, { holder });
        continue;
      }
      const admitted = limiter.enter();
      waits.push(clock.now() - firstAsked);
      sentAt.push(clock.now());
      await clock.sleep(CALL_MS);
      if ('leave' in admitted) admitted.leave();
      // The release rides on the next request in the client library; here it is its own (same cost).
      await budget.release(HOST, permit.permitId, { holder });
      firstAsked = clock.now();
    }
  };

  await clock.settle(Promise.all(Array.from({ length: vendors * perVendor }, (_, i) => consumer(i))));
  const counters = limiter.counters();
  const steadyFrom = START + 21_250;
  const steady = sentAt.filter((t) => t >= steadyFrom && t < deadline).length;
  return {
    name: paced ? 'paced (this release)' : 'burst: the window at once (before)',
    refused606: counters.refused606,
    refused615: counters.refused615,
    calls: counters.accepted,
    perWindow: (steady * WINDOW_MS) / (deadline - steadyFrom),
    wait: summarize(waits),
    late,
  };
}
