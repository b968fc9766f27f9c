/**
 * Suite-wide log capture (a vitest setup file): everything code under test writes to stdout, stderr or
 * the console is appended to LEAK_SCAN_DIR, which the global teardown scans for secrets and tokens.
 * Output still reaches the terminal as usual.
 */
import { captureText } from '../../testing/leak-scan.js';

const patched = Symbol.for('marketo-token-vendor.log-capture');
const globals = globalThis as typeof globalThis & { [patched]?: boolean };

if (!globals[patched]) {
  globals[patched] = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captureText(
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk),
      );
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      captureText(`${args.map((a) => (typeof a === 'string' ? a : safeStringify(a))).join(' ')}\n`);
      original(...args);
    };
  }
}

function safeStringify(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
