/**
 * Suite-wide log capture (a vitest setup file): everything code under test writes to stdout, stderr or
 * the console is appended to LEAK_SCAN_DIR, which the global teardown scans for secrets and tokens.
 *
 * A passing run reads as a short summary: what the code under test writes straight to stdout and stderr
 * (Powertools' JSON log lines and its "No application metrics to publish" warnings, local mode's access log,
 * child processes' output piped through) is held and printed only for a test that fails, under a header
 * naming it (what was written outside any test, when a test of the file failed); console calls follow
 * vitest's `silent: 'passed-only'` (vitest.config.ts). `TEST_OUTPUT=all` prints everything as it comes.
 * What a passing run must still show (why a test was skipped) goes through `announce`
 * (test/support/announce.ts), which bypasses the holding.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { captureText } from '../../testing/leak-scan.js';
import { ANNOUNCE } from './announce.js';

const patched = Symbol.for('marketo-token-vendor.log-capture');
const globals = globalThis as typeof globalThis & { [patched]?: HeldOutput };

type Write = (...args: unknown[]) => boolean;

/**
 * One held write, and the tests running when it was made (none: outside any test). Tests of a
 * `describe.concurrent` run side by side, so a write belongs to every test running then: a failing test
 * shows all it wrote, and what the others wrote meanwhile.
 */
interface Held {
  readonly write: Write;
  readonly chunk: unknown;
  readonly tests: readonly string[];
}

/** Output held until it is known whether the test that wrote it failed. */
interface HeldOutput {
  readonly passThrough: boolean;
  /** stderr's own write, past the holding (for `announce`). */
  rawStderr?: Write;
  held: Held[];
  /** The ids of the tests running now (more than one in a concurrent describe). */
  running: Set<string>;
  /** Whether a test of this file failed: what was written outside its tests is printed then. */
  fileFailed: boolean;
}

const textOf = (chunk: unknown): string =>
  typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);

function install(): HeldOutput {
  const state: HeldOutput = {
    passThrough: process.env.TEST_OUTPUT === 'all',
    held: [],
    running: new Set(),
    fileFailed: false,
  };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as Write;
    if (stream === process.stderr) state.rawStderr = write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captureText(textOf(chunk));
      if (state.passThrough) return write(chunk, ...rest);
      state.held.push({ write, chunk, tests: [...state.running] });
      // Written, as far as the writer is concerned: call its callback as the stream would.
      const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      captureText(`${args.map((a) => (typeof a === 'string' ? a : safeStringify(a))).join(' ')}\n`);
      original(...args);
    };
  }
  return state;
}

const state = globals[patched] ?? install();
globals[patched] = state;
(globalThis as { [ANNOUNCE]?: (text: string) => void })[ANNOUNCE] = (text) => {
  captureText(text);
  (state.rawStderr ?? process.stderr.write.bind(process.stderr))(text);
};

/** Prints, under `header`, what was written while `owner` ran (`undefined`: outside any test), and forgets it. */
function release(owner: string | undefined, header: string): void {
  const isMine = (entry: Held) =>
    owner === undefined ? entry.tests.length === 0 : entry.tests.includes(owner);
  const mine = state.held.filter(isMine);
  state.held = state.held.filter((entry) => !isMine(entry));
  const first = mine[0];
  if (first === undefined) return;
  first.write(`\n---- output of ${header} ----\n`);
  for (const { write, chunk } of mine) write(chunk);
  first.write(`---- end of output of ${header} ----\n`);
}

if (!state.passThrough) {
  beforeEach(({ task, onTestFailed }) => {
    state.running.add(task.id);
    onTestFailed(() => {
      state.fileFailed = true;
      release(task.id, `failed test "${task.name}"`);
    });
  });
  afterEach(({ task }) => {
    // What a passing test wrote is dropped with the rest when the file ends.
    state.running.delete(task.id);
  });
  afterAll(() => {
    if (state.fileFailed) release(undefined, 'this file outside its tests (a test of it failed)');
    state.held = [];
    state.fileFailed = false;
  });
}

function safeStringify(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
