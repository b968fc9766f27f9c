/**
 * Local mode in a child process, for tests written in another language (the Python client's pytest suite):
 * `node --import tsx testing/local-vendor-process.ts '<json>'` starts one or more local vendors with
 * {@link startTestLocalVendor} (free ports, fresh data directories, the refresher off), then speaks JSON
 * lines: one `ready` line naming each vendor's endpoint, region and simulator, then one answer per command
 * read from stdin. Closing stdin stops every vendor and ends the process, so a test runner that dies takes
 * its vendors with it.
 *
 *   config:  {"vendors": {"<name>": {tokenLifespanSeconds?, simulatorLimits?, budgetLimits?, restLatencyMs?,
 *             simulatorBulk?, bulkLimits?, policy?, clients?: [{clientId, clientSecret}]}}}
 *   command: {"vendor": "<name>", "op": "forceRestError" | "revokeToken" | "counters" | "resetCounters"
 *             | "advanceBulkClock", …}
 *
 * Protocol lines start with `@mtv ` (the vendors' own console output may share stdout).
 */
import { createInterface } from 'node:readline';
import type { AccessLogEntry } from '../local/access-log.js';
import type { SimulatedLimits } from '../local/marketo-limits.js';
import type { PolicyDocument } from '../local/policy.js';
import type { SimulatedBulkOptions } from '../local/simulator/bulk.js';
import { startTestLocalVendor, type TestLocalVendor } from './local-vendor.js';

/** How one vendor of the process is started. */
export interface ChildVendorConfig {
  readonly tokenLifespanSeconds?: number;
  /** The simulator's limits (`true`: Marketo's). @default off */
  readonly simulatorLimits?: true | Partial<SimulatedLimits>;
  /** The budget's limits (`BUDGET_LIMITS`' `default` entry), e.g. the same as the simulator's. */
  readonly budgetLimits?: Readonly<Record<string, number>>;
  /** Latency of every simulated REST answer: makes concurrency observable. */
  readonly restLatencyMs?: number;
  /**
   * The simulator's Bulk Extract; with `virtualClock`, its jobs run on a clock that moves only by the
   * `advanceBulkClock` command (a test's client moves it with its waits). @default Marketo's, on real time
   */
  readonly simulatorBulk?: Partial<Omit<SimulatedBulkOptions, 'now' | 'fileBytes'>> & {
    readonly fileBytes?: number;
    readonly virtualClock?: boolean;
  };
  /** The Bulk slots' limits (`BULK_LIMITS`' `default` entry), e.g. the simulator's daily export quota. */
  readonly bulkLimits?: Readonly<Record<string, number>>;
  readonly policy?: PolicyDocument;
  readonly clients?: ReadonlyArray<{
    readonly clientId: string;
    readonly clientSecret: string;
    /** Makes the client a member of this instance pool. */
    readonly instance?: string;
  }>;
}

type Command =
  | { readonly op: 'forceRestError'; readonly code: '601' | '602'; readonly times?: number }
  | { readonly op: 'revokeToken'; readonly clientId: string }
  | { readonly op: 'counters'; readonly clientId?: string }
  | { readonly op: 'resetCounters' }
  | { readonly op: 'advanceBulkClock'; readonly ms: number };

export const PROTOCOL_PREFIX = '@mtv ';

const say = (message: unknown): void => {
  process.stdout.write(`${PROTOCOL_PREFIX}${JSON.stringify(message)}\n`);
};

interface Running {
  readonly local: TestLocalVendor;
  readonly requests: AccessLogEntry[];
  /** Moves the Bulk jobs' virtual clock on (a no-op on real time). */
  readonly advanceBulkClock: (ms: number) => void;
}

const startOne = async (config: ChildVendorConfig): Promise<Running> => {
  const requests: AccessLogEntry[] = [];
  let bulkNow = Date.now();
  const { virtualClock, ...bulk } = config.simulatorBulk ?? {};
  const local = await startTestLocalVendor({
    dataDirPrefix: 'mtv-child-',
    ...(config.policy ? { policy: config.policy } : {}),
    ...(config.tokenLifespanSeconds === undefined
      ? {}
      : { tokenLifespanSeconds: config.tokenLifespanSeconds }),
    ...(config.simulatorLimits === undefined ? {} : { simulatorLimits: config.simulatorLimits }),
    ...(config.simulatorBulk === undefined
      ? {}
      : { simulatorBulk: { ...bulk, ...(virtualClock ? { now: () => bulkNow } : {}) } }),
    env: {
      ...(config.budgetLimits ? { BUDGET_LIMITS: JSON.stringify({ default: config.budgetLimits }) } : {}),
      ...(config.bulkLimits ? { BULK_LIMITS: JSON.stringify({ default: config.bulkLimits }) } : {}),
    },
    onRequest: (entry) => requests.push(entry),
  });
  if (config.restLatencyMs !== undefined) local.sim.setRestLatency(config.restLatencyMs);
  for (const client of config.clients ?? []) await local.addClient(client);
  return {
    local,
    requests,
    advanceBulkClock: (ms) => {
      bulkNow += ms;
    },
  };
};

const answer = (running: Running, command: Command): unknown => {
  const { sim } = running.local;
  switch (command.op) {
    case 'forceRestError':
      sim.forceRestError(command.code, command.times ?? 1);
      return { ok: true };
    case 'revokeToken':
      sim.revokeToken(command.clientId);
      return { ok: true };
    case 'resetCounters':
      sim.resetCounters();
      running.requests.length = 0;
      return { ok: true };
    case 'advanceBulkClock':
      running.advanceBulkClock(command.ms);
      return { ok: true };
    case 'counters':
      return {
        bulk: sim.bulkCounters(),
        identityCalls: sim.identityCalls(command.clientId),
        restCalls: sim.restCalls(),
        accessTokenQueryParamUses: sim.accessTokenQueryParamUses(),
        limits: sim.limitCounters() ?? null,
        requests: running.requests.map(({ method, path, status }) => ({ method, path, status })),
      };
  }
};

const main = async (): Promise<void> => {
  const config = JSON.parse(process.argv[2] ?? '{}') as {
    readonly vendors?: Readonly<Record<string, ChildVendorConfig>>;
  };
  const names = Object.keys(config.vendors ?? {});
  const started = await Promise.all(names.map((name) => startOne(config.vendors?.[name] ?? {})));
  const vendors = new Map(names.map((name, index) => [name, started[index] as Running]));
  const stop = async (): Promise<void> => {
    await Promise.all([...vendors.values()].map(({ local }) => local.stop()));
    process.exit(0);
  };
  say({
    ready: Object.fromEntries(
      [...vendors].map(([name, { local }]) => [
        name,
        {
          url: local.url,
          region: local.region,
          restUrl: local.sim.restUrl,
          identityUrl: local.sim.identityUrl,
        },
      ]),
    ),
  });
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      const command = JSON.parse(line) as Command & { readonly vendor: string };
      const running = vendors.get(command.vendor);
      say(running ? answer(running, command) : { error: `no vendor named ${command.vendor}` });
    } catch (error) {
      say({ error: String(error) });
    }
  });
  lines.on('close', () => void stop());
  process.on('SIGTERM', () => void stop());
};

await main();
