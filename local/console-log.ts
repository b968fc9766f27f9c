/**
 * Local mode's console: the Lambdas' Powertools log lines (the same logger, the same calls) written for a
 * person at a terminal instead of for CloudWatch. One line each, `HH:MM:SS LEVEL message key=value …`, without
 * the Lambda context fields; a warning that repeats (a misconfigured client fails every sweep, four Identity
 * attempts each) is printed once per cause, and then as a count every `repeatSummaryMs`, and when local mode
 * stops. `npm start -- --log-format json` keeps Powertools' JSON lines instead.
 */
import { type LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';

/** How local mode writes log lines: for a person (`text`) or as the Lambdas do (`json`). */
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Powertools' fields every line has, or that describe a Lambda invocation: not shown in text. */
const STANDARD_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'xray_trace_id',
]);

/** Fields that differ between repeats of one cause (a retry's attempt, a request's id, a wait). */
const VOLATILE_KEYS = new Set([
  'attempt',
  'waitMs',
  'latencyMs',
  'delayMs',
  'leaseUntil',
  'expiresIn',
  'token',
  'requestId',
]);

/** @default 10 minutes: a repeated warning's count is printed at most this often. */
const DEFAULT_REPEAT_SUMMARY_MS = 10 * 60_000;

/** One log line's fields, as Powertools prepares them for print. */
type Attributes = Readonly<Record<string, unknown>>;

const showValue = (value: unknown): string => {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value) {
    const error = value as { name?: unknown; message?: unknown };
    return JSON.stringify(`${String(error.name ?? 'Error')}: ${String(error.message)}`);
  }
  return JSON.stringify(value) ?? String(value);
};

/** `HH:MM:SS LEVEL message key=value …` (UTC, as npm start's other lines). */
export function formatLine(attributes: Attributes): string {
  const time = typeof attributes.timestamp === 'string' ? attributes.timestamp.slice(11, 19) : '--:--:--';
  const level = String(attributes.level ?? 'INFO').padEnd(5);
  const details = Object.entries(attributes)
    .filter(([key, value]) => !STANDARD_KEYS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${showValue(value)}`);
  // The request a line belongs to, as the answer's x-amzn-RequestId names it.
  const request =
    typeof attributes.function_request_id === 'string' ? [`request=${attributes.function_request_id}`] : [];
  return [time, level, String(attributes.message ?? ''), ...details, ...request].join(' ').trimEnd();
}

/** What makes two lines "the same warning": level, message and every field but the volatile ones. */
const causeOf = (attributes: Attributes): string =>
  JSON.stringify(
    Object.entries(attributes).filter(
      ([key]) => key === 'level' || key === 'message' || (!STANDARD_KEYS.has(key) && !VOLATILE_KEYS.has(key)),
    ),
  );

/** Options of {@link LocalConsole}. */
export interface LocalConsoleOptions {
  /** Where a finished line goes; `error` for WARN and worse. @default stdout / stderr */
  readonly write?: (line: string, error: boolean) => void;
  /** How often a repeated warning's count is printed. @default 600_000 */
  readonly repeatSummaryMs?: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

interface Repeat {
  readonly line: string;
  readonly error: boolean;
  /** Repeats since the line (or its last count) was printed. */
  count: number;
  since: number;
}

/** The sink every logger of one local mode writes to: formats, folds repeated warnings, counts them. */
export class LocalConsole {
  readonly #write: (line: string, error: boolean) => void;
  readonly #now: () => number;
  readonly #repeats = new Map<string, Repeat>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: LocalConsoleOptions = {}) {
    this.#write =
      options.write ?? ((line, error) => (error ? process.stderr : process.stdout).write(`${line}\n`));
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.flush(), options.repeatSummaryMs ?? DEFAULT_REPEAT_SUMMARY_MS);
    this.#timer.unref();
  }

  /** Writes one line; a warning or error seen before is only counted. */
  print(attributes: Attributes): void {
    const line = formatLine(attributes);
    const level = String(attributes.level ?? 'INFO');
    const error = level !== 'INFO' && level !== 'DEBUG' && level !== 'TRACE';
    if (!error) {
      this.#write(line, false);
      return;
    }
    const cause = causeOf(attributes);
    const seen = this.#repeats.get(cause);
    if (seen) {
      seen.count += 1;
      return;
    }
    this.#repeats.set(cause, { line, error, count: 0, since: this.#now() });
    this.#write(line, error);
  }

  /** Prints how often each warning repeated since it was last printed (also what the timer does). */
  flush(): void {
    for (const repeat of this.#repeats.values()) {
      if (repeat.count === 0) continue;
      const since = new Date(repeat.since).toISOString().slice(11, 19);
      const time = new Date(this.#now()).toISOString().slice(11, 19);
      const times = repeat.count === 1 ? 'once more' : `${repeat.count} more times`;
      this.#write(`${time} ${repeat.line.slice(9)} (repeated ${times} since ${since})`, repeat.error);
      repeat.count = 0;
      repeat.since = this.#now();
    }
  }

  /** Prints the pending counts and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

/**
 * A Powertools logger that prints through a {@link LocalConsole}: the handlers and the core log exactly as
 * in Lambda (levels, `createChild` per request, `injectLambdaContext`), only the output differs.
 */
export class LocalConsoleLogger extends PowertoolsLogger {
  readonly #console: LocalConsole;

  constructor(console: LocalConsole, options: ConstructorOptions = {}) {
    super(options);
    this.#console = console;
  }

  protected override createLogger(options?: ConstructorOptions): LocalConsoleLogger {
    return new LocalConsoleLogger(this.#console, options);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    // Powertools may print from its own constructor (a warning about its settings), before this one ran.
    if (!(#console in this)) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.#console.print(log.getAttributes());
  }
}
