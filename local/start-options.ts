/**
 * `npm start`'s flags, parsed apart from starting anything so a test can check what each flag turns into.
 * The simulator enforces Marketo's documented limits unless `--no-simulator-limits` is given: local mode
 * shows the shared API budget against an instance that refuses what a real one refuses.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_FORMATS, type LogFormat } from './console-log.js';
import { MARKETO_LIMITS } from './marketo-limits.js';
import type { LocalVendorOptions } from './server.js';

/** What `npm start` was asked for. */
export interface StartOptions {
  readonly port: number;
  readonly simulatorPort: number;
  readonly lifespan: number;
  readonly refreshInterval: number;
  readonly dataDir: string;
  /** Whether the simulator enforces Marketo's limits (606 rate, 615 concurrency, 607 daily quota). */
  readonly simulatorLimits: boolean;
  /** How log lines are printed: `text` for a terminal, `json` as the Lambdas write them. */
  readonly logFormat: LogFormat;
}

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number');
  return n;
};
const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
};

/** The `start` command; `configure` lets a test keep commander from exiting the process. */
export function startCommand(configure: (command: Command) => Command = (command) => command): Command {
  return configure(new Command('start'))
    .description('Local Marketo token vendor on 127.0.0.1 (SigV4-checked API, dynalite, Marketo simulator)')
    .option('--port <port>', 'port of the token API (0: any free port)', port, 8787)
    .option('--simulator-port <port>', 'port of the Marketo simulator (0: any free port)', port, 8788)
    .option('--lifespan <seconds>', 'lifespan of tokens the simulator issues', wholeNumber, 3600)
    .option('--refresh-interval <seconds>', 'refresher schedule (0: off)', wholeNumber, 60)
    .option('--data-dir <dir>', 'where the policy, credentials and token store live', '.local')
    .option('--no-simulator-limits', "the simulator answers every call (no 606/615/607 at Marketo's limits)")
    .addOption(
      new Option('--log-format <format>', 'log lines for a terminal, or JSON as the Lambdas write them')
        .choices(LOG_FORMATS)
        .default('text'),
    );
}

/** Parses `npm start`'s arguments (without `node` and the script). */
export function parseStartOptions(args: readonly string[], command: Command = startCommand()): StartOptions {
  return command.parse([...args], { from: 'user' }).opts<StartOptions>();
}

/** What {@link StartOptions} ask of `startLocalVendor`. */
export const localVendorOptionsOf = (
  opts: StartOptions,
): Pick<
  LocalVendorOptions,
  | 'port'
  | 'simulatorPort'
  | 'tokenLifespanSeconds'
  | 'refreshIntervalMs'
  | 'dataDir'
  | 'simulatorLimits'
  | 'logFormat'
> => ({
  port: opts.port,
  simulatorPort: opts.simulatorPort,
  tokenLifespanSeconds: opts.lifespan,
  refreshIntervalMs: opts.refreshInterval * 1000,
  dataDir: opts.dataDir,
  ...(opts.simulatorLimits ? { simulatorLimits: true } : {}),
  logFormat: opts.logFormat,
});

/** The banner line saying whether the simulator enforces Marketo's limits. */
export const simulatorLimitsLine = (on: boolean): string => {
  const { callsPerWindow, windowMs, concurrentCalls, dailyQuota } = MARKETO_LIMITS;
  return on
    ? `  limits:      Marketo's, enforced by the simulator: ${callsPerWindow} calls per ${windowMs / 1000} s (606), ${concurrentCalls} at once (615), ${dailyQuota.toLocaleString('en-US')} a day (607); --no-simulator-limits turns them off`
    : '  limits:      off (--no-simulator-limits): the simulator answers every call';
};
