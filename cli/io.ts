import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CliError, usageError } from './errors.js';

/** A readable that may be a terminal (process.stdin is one when interactive). */
export type CliInput = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
/** A writable that may be a terminal (the progress bar only draws on one). */
export type CliOutput = Writable & { isTTY?: boolean; columns?: number };

/** The streams a CLI run talks to, injectable so tests run the CLI in-process. */
export interface CliIo {
  readonly stdin: CliInput;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
}

/** Longest secret accepted on stdin: Marketo secrets are 32 characters; anything huge is a mistake. */
const MAX_SECRET_BYTES = 4096;

const checkSecret = (secret: string, from: string): string => {
  if (secret.length === 0)
    throw usageError(`no client secret on ${from} — provide the Custom Service's secret`);
  if (/[\r\n]/.test(secret)) {
    throw usageError(`the client secret on ${from} spans several lines — provide exactly one line`);
  }
  if (/^\s|\s$/.test(secret)) {
    throw usageError(`the client secret on ${from} has leading or trailing spaces — remove them`);
  }
  return secret;
};

/** Reads the whole of stdin as the secret; one trailing newline (from `echo` or a file) is dropped. */
export async function readSecretFromStdin(stdin: CliInput): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_SECRET_BYTES)
      throw usageError(`stdin holds more than ${MAX_SECRET_BYTES} bytes — pipe only the secret`);
    chunks.push(buffer);
  }
  return checkSecret(
    Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, ''),
    'stdin',
  );
}

/**
 * Prompts on the terminal with echo off (raw mode: typed characters are not displayed at all). Refuses
 * to run without a terminal, pointing at `--secret-stdin`: a secret is never taken from a flag.
 */
export async function promptSecret(io: CliIo, question: string): Promise<string> {
  const { stdin, stderr } = io;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') {
    throw usageError(
      'no terminal to prompt for the client secret — pipe it in with --secret-stdin (it is never accepted as a flag)',
    );
  }
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    const secret = await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer | string) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            stdin.off('data', onData);
            resolve(typed);
            return;
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            reject(new CliError('aborted'));
            return;
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
    return checkSecret(secret, 'the prompt');
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    stderr.write('\n');
  }
}

/** Asks a yes/no question on the terminal; without a terminal the caller must have passed `--yes`. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin.isTTY) {
    throw usageError('refusing to delete without confirmation and there is no terminal to ask — pass --yes');
  }
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
  try {
    io.stderr.write(question);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Writes `text` to stdout as one line (adds the newline unless it has one). */
export function writeLine(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
