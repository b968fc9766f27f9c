/**
 * The in-memory vendor: the token engine on a {@link FakeClock}, a {@link FakeIdentity}, {@link MemoryCredentials}
 * and a {@link MemoryTokenStore}, keeping what its instances log and count. The core's unit tests take it in
 * one line instead of assembling the parts (the loopback world, testing/world.ts, is the same idea with real
 * adapters):
 *
 *   const w = createMemoryVendor({ clients: ['client-a'] });
 *   const token = await w.clock.settle(w.vendor().getToken('client-a'));
 *   expect(w.identity.callCount('client-a')).toBe(1);
 *
 * Each `vendor()` is another instance, as another Lambda would be: its own memory and single flight, the
 * same store, credentials and Identity.
 */
import type { ClientCredentials, Clock, MetricName } from '../functions/core/ports.js';
import { createTokenVendor } from '../functions/core/token-vendor.js';
import type { TokenVendor, TokenVendorDeps } from '../functions/core/token-vendor-api.js';
import type { TokenVendorConfig } from '../functions/core/vendor-config.js';
import { FakeClock } from './clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from './fake-identity.js';
import { MemoryTokenStore } from './memory-token-store.js';

/** Options of {@link createMemoryVendor}. */
export interface MemoryVendorOptions<C extends Clock> {
  /** Registered clients: an id (a {@link testCredentials} record) or a whole record. @default ['client-a'] */
  readonly clients?: ReadonlyArray<string | ClientCredentials>;
  /** Lifespan of the tokens the fake Identity issues. @default 3600 */
  readonly lifespanSeconds?: number;
  /** The clock everything runs on. @default a new FakeClock */
  readonly clock?: C;
  /** Engine settings of every instance (`vendor(config)` adds to them). @default the core's defaults */
  readonly config?: Partial<TokenVendorConfig>;
}

/** The parts, what the instances logged and counted, and a factory of instances. */
export interface MemoryVendor<C extends Clock> {
  readonly clock: C;
  readonly identity: FakeIdentity;
  readonly credentials: MemoryCredentials;
  readonly store: MemoryTokenStore;
  /** The registered records, in the order given. */
  readonly records: readonly ClientCredentials[];
  /** Every line any instance logged, as JSON `[message, attributes]` (to grep, or to scan for a leak). */
  readonly logLines: string[];
  /** Every metric any instance recorded, by name, in order. */
  readonly recorded: MetricName[];
  /** Per metric, the sum of its values. */
  readonly metrics: Map<MetricName, number>;
  /**
   * A new instance (lease owner `instance-<n>`) on the shared parts; `config` adds to the options' settings,
   * `deps` replaces a port (a wrapped Identity, a skewed clock, a fixed `random`).
   */
  vendor(config?: Partial<TokenVendorConfig>, deps?: Partial<TokenVendorDeps>): TokenVendor;
}

export function createMemoryVendor(options?: MemoryVendorOptions<FakeClock>): MemoryVendor<FakeClock>;
export function createMemoryVendor<C extends Clock>(
  options: MemoryVendorOptions<C> & { readonly clock: C },
): MemoryVendor<C>;
export function createMemoryVendor(options: MemoryVendorOptions<Clock> = {}): MemoryVendor<Clock> {
  const clock = options.clock ?? new FakeClock();
  const records = (options.clients ?? ['client-a']).map((client) =>
    typeof client === 'string' ? testCredentials(client) : client,
  );
  const identity = new FakeIdentity(clock, records, options.lifespanSeconds ?? 3600);
  const credentials = new MemoryCredentials(records);
  const store = new MemoryTokenStore();
  const logLines: string[] = [];
  const log = (message: string, attributes?: Record<string, unknown>): void => {
    logLines.push(JSON.stringify([message, attributes]));
  };
  const recorded: MetricName[] = [];
  const metrics = new Map<MetricName, number>();
  let instances = 0;
  const vendor = (config: Partial<TokenVendorConfig> = {}, deps: Partial<TokenVendorDeps> = {}) =>
    createTokenVendor(
      {
        store,
        credentials,
        identity,
        clock,
        logger: { debug: log, info: log, warn: log, error: log },
        metrics: {
          record: (name, value) => {
            recorded.push(name);
            metrics.set(name, (metrics.get(name) ?? 0) + value);
          },
        },
        instanceId: `instance-${++instances}`,
        ...deps,
      },
      { ...options.config, ...config },
    );
  return { clock, identity, credentials, store, records, logLines, recorded, metrics, vendor };
}
