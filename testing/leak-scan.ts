import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Marketo access tokens look like `<uuid>:<pod>`; a fingerprint (8 hex chars) never matches. */
export const TOKEN_PATTERN =
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[a-z0-9]{2,8}\b/gi;

export interface Leak {
  readonly file: string;
  readonly kind: 'token' | 'secret';
  /** The line with the leaked value masked, for the report. */
  readonly excerpt: string;
}

const mask = (line: string, value: string): string => line.split(value).join('«LEAKED»').slice(0, 300);

/** Finds registered secrets, registered tokens and anything token-shaped in captured log text. */
export function findLeaks(
  logs: ReadonlyArray<{ file: string; text: string }>,
  sensitive: ReadonlySet<string>,
): Leak[] {
  const leaks: Leak[] = [];
  const values = [...sensitive].filter((v) => v.length >= 8);
  for (const { file, text } of logs) {
    for (const line of text.split('\n')) {
      for (const match of line.match(TOKEN_PATTERN) ?? []) {
        leaks.push({ file, kind: 'token', excerpt: mask(line, match) });
      }
      for (const value of values) {
        if (line.includes(value)) leaks.push({ file, kind: 'secret', excerpt: mask(line, value) });
      }
    }
  }
  return leaks;
}

const dir = (): string | undefined => process.env.LEAK_SCAN_DIR;

/** Records values (client secrets, tokens) that must never appear in any captured log line. */
export function registerSensitive(...values: ReadonlyArray<string | undefined>): void {
  const target = dir();
  if (!target) return;
  const lines = values.filter((v): v is string => typeof v === 'string' && v.length >= 8);
  if (lines.length > 0) appendFileSync(join(target, `sensitive-${process.pid}.txt`), `${lines.join('\n')}\n`);
}

/** Adds text that code under test printed elsewhere (e.g. a child process's output) to the scan. */
export function captureText(text: string): void {
  const target = dir();
  if (target) appendFileSync(join(target, `log-${process.pid}.txt`), text);
}

/** Reads everything captured in `directory` and scans it. */
export function scanDirectory(directory: string): { lines: number; leaks: Leak[] } {
  const files = readdirSync(directory);
  const sensitive = new Set<string>();
  for (const f of files.filter((name) => name.startsWith('sensitive-'))) {
    for (const v of readFileSync(join(directory, f), 'utf8').split('\n')) if (v) sensitive.add(v);
  }
  const logs = files
    .filter((name) => name.startsWith('log-'))
    .map((name) => ({ file: name, text: readFileSync(join(directory, name), 'utf8') }));
  const lines = logs.reduce((n, l) => n + l.text.split('\n').length, 0);
  return { lines, leaks: findLeaks(logs, sensitive) };
}

/** Runs `work`, expecting it to fail; feeds the error's message to the leak scan and returns the error. */
export async function captureError(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    const typed = error instanceof Error ? error : new Error(String(error));
    captureText(`${typed.name}: ${typed.message}\n`);
    return typed;
  }
  throw new Error('expected the call to fail');
}

/**
 * Every `size`-character window of `secret` and of its reverse, lower-cased: an echo that was uppercased,
 * truncated or reversed still contains one of them. Only for random secrets (a readable one shares
 * windows with ordinary words).
 */
export function secretWindows(secret: string, size = 8): string[] {
  const windows = new Set<string>();
  for (const form of [secret, [...secret].reverse().join('')]) {
    const lower = form.toLowerCase();
    for (let i = 0; i + size <= lower.length; i += 1) windows.add(lower.slice(i, i + size));
  }
  return [...windows];
}

/** The windows of `secret` (see {@link secretWindows}) that occur in `text`, case-insensitively. */
export function findSecretWindows(text: string, secret: string, size = 8): string[] {
  const haystack = text.toLowerCase();
  return secretWindows(secret, size).filter((window) => haystack.includes(window));
}
