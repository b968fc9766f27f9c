/**
 * `local env` and `local exec`: what a job needs to use a running local mode, as environment variables.
 * The same names a deployed job reads (examples/sync-job): the vendor's endpoint and region, an access key
 * the local policy knows (the one `npm start` generated), the Marketo client and the simulator's REST base.
 *
 *   eval "$(npx marketo-token-vendor local env)"        # in a shell
 *   npx marketo-token-vendor local exec -- python3 job.py  # one command, any platform
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { type LocalJobEnv, LocalModeNotReadyError, localJobEnv as readJobEnv } from '../local/job-env.js';
import { DEFAULT_LOCAL_DATA_DIR } from '../local/runtime-info.js';
import { CliError } from './errors.js';
import type { CliIo } from './io.js';

/** {@link readJobEnv}, its refusals as one-line CLI errors (exit 1). */
async function localJobEnv(dataDir: string): Promise<LocalJobEnv> {
  try {
    return await readJobEnv(dataDir);
  } catch (error) {
    throw error instanceof LocalModeNotReadyError ? new CliError(error.message) : error;
  }
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
 * inherit; `--data-dir` is the program's global option). A `CliExtension` (cli/index.ts): cli/bin.js adds
 * it in a clone of the repository, where local mode is.
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
