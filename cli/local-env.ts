/**
 * `local env` and `local exec`: what a job needs to use a running local mode, as environment variables.
 * The same names a deployed job reads (examples/sync-job): the vendor's endpoint and region, an access key
 * the local policy knows (the one `npm start` generated), the Marketo client and the simulator's REST base.
 *
 *   eval "$(npx marketo-token-vendor local env)"        # in a shell
 *   npx marketo-token-vendor local exec -- python3 job.py  # one command, any platform
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEMO_CLIENT } from '../local/marketo-simulator.js';
import { generatedKeyOf, readPolicyFile } from '../local/policy.js';
import { DEFAULT_LOCAL_DATA_DIR, readLiveRuntimeInfo } from '../local/runtime-info.js';
import { LOCAL_POLICY_FILE } from '../local/server.js';
import { CliError } from './errors.js';
import type { CliIo } from './io.js';

/** The region local mode signs for when its runtime file does not say (files of older versions). */
const DEFAULT_LOCAL_REGION = 'us-east-1';

/** The variables, in the order `local env` prints them. */
export interface LocalJobEnv {
  readonly TOKEN_VENDOR_ENDPOINT: string;
  readonly AWS_REGION: string;
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  /** The simulator's demo client, when local mode runs the simulator. */
  readonly MARKETO_CLIENT_ID?: string;
  /** The simulator's REST base (paths are `/rest/v1/…`), when local mode runs the simulator. */
  readonly MARKETO_REST_URL?: string;
}

/** What a job needs to use the local mode running on `dataDir`; a CLI error names what is missing. */
export async function localJobEnv(dataDir: string): Promise<LocalJobEnv> {
  const info = await readLiveRuntimeInfo(dataDir);
  if (info === undefined) {
    throw new CliError(
      `local mode is not running on ${dataDir} — start it with npm start (or pass the --data-dir it uses)`,
    );
  }
  const key = await readPolicyFile(join(dataDir, LOCAL_POLICY_FILE)).then(generatedKeyOf, () => undefined);
  if (key === undefined) {
    throw new CliError(
      `${join(dataDir, LOCAL_POLICY_FILE)} no longer lists the key local mode generated — export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of a key it lists yourself`,
    );
  }
  return {
    TOKEN_VENDOR_ENDPOINT: info.apiUrl,
    AWS_REGION: info.region ?? DEFAULT_LOCAL_REGION,
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    ...(info.simulatorUrl === undefined
      ? {}
      : { MARKETO_CLIENT_ID: DEMO_CLIENT.clientId, MARKETO_REST_URL: info.simulatorUrl }),
  };
}

/** A value quoted for a POSIX shell: single quotes, a single quote as `'\''`. */
const shellQuote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

/** `export NAME='value'` lines, for `eval "$(… local env)"`. */
export function shellExports(env: LocalJobEnv): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${shellQuote(String(value))}\n`)
    .join('');
}

/** `local env`: prints the exports (or JSON). */
export async function printLocalEnv(
  io: CliIo,
  dataDir: string,
  options: { readonly json?: boolean },
): Promise<void> {
  const env = await localJobEnv(dataDir);
  io.stdout.write(options.json ? `${JSON.stringify(env, null, 2)}\n` : shellExports(env));
}

/**
 * `local exec -- <command> [args…]`: runs the command with the local variables added to this environment
 * (AWS_SESSION_TOKEN and AWS_PROFILE removed: they belong to another key), its output passed through,
 * SIGINT/SIGTERM passed on; resolves with its exit code.
 */
export async function execWithLocalEnv(
  io: CliIo,
  dataDir: string,
  command: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const [program, ...args] = command;
  if (program === undefined)
    throw new CliError('name the command to run after --, e.g. local exec -- node job.js', 2);
  const local = await localJobEnv(dataDir);
  const { AWS_SESSION_TOKEN: _token, AWS_PROFILE: _profile, ...inherited } = env;
  const child = spawn(program, args, {
    env: { ...inherited, ...local },
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  child.stdout.pipe(io.stdout, { end: false });
  child.stderr.pipe(io.stderr, { end: false });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new CliError(`${program}: command not found`) : (error as Error)),
      );
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/**
 * Adds the `local` command with its `env` and `exec` subcommands to `program` (whose output settings they
 * inherit; `--data-dir` is the program's global option).
 */
export function addLocalCommand(
  program: Command,
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  setExitCode: (code: number) => void,
): void {
  const dataDirOf = (command: Command): string =>
    command.optsWithGlobals<{ dataDir?: string }>().dataDir ?? DEFAULT_LOCAL_DATA_DIR;
  const local = program
    .command('local')
    .description(
      'point a job at a running local mode (npm start): its endpoint, region, key and Marketo simulator',
    );
  local
    .command('env')
    .description('print TOKEN_VENDOR_ENDPOINT, AWS_REGION, the access key and MARKETO_* as shell exports')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ eval "$(marketo-token-vendor local env)" && node my-sync-job.js\n')
    .action(async (options: { json?: boolean }, command: Command) => {
      await printLocalEnv(io, dataDirOf(command), options);
    });
  local
    .command('exec')
    .description('run a command with those variables (AWS_SESSION_TOKEN and AWS_PROFILE removed)')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText(
      'after',
      '\nExample:\n  $ marketo-token-vendor local exec -- python3 examples/sync-job/sync_job.py\n',
    )
    .action(async (command: string[], _options: unknown, self: Command) => {
      setExitCode(await execWithLocalEnv(io, dataDirOf(self), command, env));
    });
}
