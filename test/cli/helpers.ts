import { PassThrough, Readable } from 'node:stream';
import { expect, vi } from 'vitest';
import { type CliIo, runCli } from '../../cli/index.js';
import { captureText, TOKEN_PATTERN } from '../../testing/leak-scan.js';

/** In-memory streams for an in-process CLI run; `tty` makes stdin/stderr look like a terminal. */
export function memoryIo(stdinText?: string, options: { readonly tty?: boolean } = {}) {
  const stdin = (
    options.tty
      ? Object.assign(new PassThrough(), { isTTY: true })
      : Readable.from(stdinText === undefined ? [] : [Buffer.from(stdinText)])
  ) as CliIo['stdin'];
  if (options.tty && stdinText !== undefined) (stdin as PassThrough).end(stdinText);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), options.tty ? { isTTY: true, columns: 100 } : {});
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: { stdin, stdout, stderr } satisfies CliIo,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}

/** The result of one CLI run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Asserts that text printed by the CLI holds none of the given secrets or tokens and nothing token-shaped,
 * and feeds it to the suite-wide leak scan.
 */
export function assertNoLeak(text: string, sensitive: readonly string[]): void {
  captureText(text);
  for (const value of sensitive) expect(text).not.toContain(value);
  expect(text.match(TOKEN_PATTERN)).toBeNull();
}

/** Runs the CLI in-process and checks its output for leaks of `sensitive()`. */
export function cliRunner(
  baseArgs: readonly string[],
  sensitive: () => readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
) {
  return async (
    args: readonly string[],
    options: { readonly stdin?: string; readonly tty?: boolean } = {},
  ): Promise<CliRun> => {
    const memory = memoryIo(options.stdin, options.tty === undefined ? {} : { tty: options.tty });
    const code = await runCli([...baseArgs, ...args], memory.io, env);
    const run = { code, stdout: memory.stdout(), stderr: memory.stderr() };
    assertNoLeak(run.stdout + run.stderr, sensitive());
    return run;
  };
}

/**
 * Dummy AWS credentials so the SDK signs requests to loopback stand-ins without looking for real ones (no
 * IMDS, no profile); returns the cleanup, for a `beforeEach` to return.
 */
export function stubDummyAwsCredentials(): () => void {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  return () => vi.unstubAllEnvs();
}
