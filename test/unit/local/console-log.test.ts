import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatLine, LocalConsole, LocalConsoleLogger } from '../../../local/console-log.js';

const AT = Date.UTC(2026, 11, 7, 10, 0, 0);

/** A console whose lines are collected, on fake timers. */
const collecting = (repeatSummaryMs = 60_000) => {
  const lines: Array<{ line: string; error: boolean }> = [];
  const console = new LocalConsole({
    write: (line, error) => lines.push({ line, error }),
    repeatSummaryMs,
    now: Date.now,
  });
  return { console, lines, texts: () => lines.map((l) => l.line) };
};

describe('formatLine', () => {
  it('writes one line: time, level, message, the fields and the request, without the rest of the Lambda context', () => {
    const line = formatLine({
      level: 'WARN',
      message: 'Identity call failed',
      timestamp: '2026-12-07T10:00:01.123Z',
      service: 'marketo-token-vendor-local',
      sampling_rate: 0,
      cold_start: false,
      function_request_id: 'c6af9ac6',
      clientId: 'flaky',
      code: 'IdentityUnavailable',
      attempt: 1,
      reason: 'Identity host could not be resolved (ENOTFOUND)',
    });

    expect(line).toBe(
      '10:00:01 WARN  Identity call failed clientId=flaky code=IdentityUnavailable attempt=1 reason="Identity host could not be resolved (ENOTFOUND)" request=c6af9ac6',
    );
  });

  it('shows an error field as its name and message', () => {
    expect(
      formatLine({
        level: 'ERROR',
        message: 'boom',
        timestamp: '2026-12-07T10:00:01.000Z',
        error: { name: 'TypeError', message: 'x is not a function', stack: '…' },
      }),
    ).toBe('10:00:01 ERROR boom error="TypeError: x is not a function"');
  });
});

describe('LocalConsole', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: AT });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const warning = (attempt: number, clientId = 'flaky') => ({
    level: 'WARN',
    message: 'Identity call failed',
    timestamp: new Date().toISOString(),
    clientId,
    code: 'IdentityUnavailable',
    attempt,
    reason: 'Identity host could not be resolved (ENOTFOUND)',
  });

  it('prints a warning that repeats with another attempt number once', () => {
    const { console, texts } = collecting();

    for (let attempt = 1; attempt <= 4; attempt += 1) console.print(warning(attempt));

    expect(texts()).toHaveLength(1);
    console.close();
  });

  it('prints the count of repeats at the next summary, then only new ones', async () => {
    const { console, texts } = collecting(60_000);
    for (let attempt = 1; attempt <= 4; attempt += 1) console.print(warning(attempt));

    await vi.advanceTimersByTimeAsync(60_000);
    await vi.advanceTimersByTimeAsync(60_000);

    expect(texts()).toEqual([
      '10:00:00 WARN  Identity call failed clientId=flaky code=IdentityUnavailable attempt=1 reason="Identity host could not be resolved (ENOTFOUND)"',
      '10:01:00 WARN  Identity call failed clientId=flaky code=IdentityUnavailable attempt=1 reason="Identity host could not be resolved (ENOTFOUND)" (repeated 3 more times since 10:00:00)',
    ]);
    console.close();
  });

  it('prints each cause once: another client is another cause', () => {
    const { console, texts } = collecting();

    console.print(warning(1, 'flaky'));
    console.print(warning(1, 'other'));
    console.print(warning(2, 'other'));

    expect(texts()).toHaveLength(2);
    console.close();
  });

  it('prints pending counts when closed', () => {
    const { console, texts } = collecting();
    console.print(warning(1));
    console.print(warning(2));

    console.close();

    expect(texts().at(-1)).toMatch(/\(repeated once more since 10:00:00\)$/);
  });

  it('prints info lines every time, on stdout; warnings on stderr', () => {
    const { console, lines } = collecting();
    const info = {
      level: 'INFO',
      message: 'fetched token from Identity',
      timestamp: new Date().toISOString(),
    };

    console.print(info);
    console.print(info);
    console.print(warning(1));

    expect(lines.map((l) => l.error)).toEqual([false, false, true]);
    console.close();
  });
});

describe('LocalConsoleLogger', () => {
  it('prints what the Powertools logger and its per-request children log through one console', () => {
    const { console, texts } = collecting();
    const logger = new LocalConsoleLogger(console, { serviceName: 'local-test', logLevel: 'WARN' });

    logger.createChild().warn('vend failed', { code: 'UnknownClient', requestId: 'a' });
    logger.createChild().warn('vend failed', { code: 'UnknownClient', requestId: 'b' });
    logger.info('not printed below WARN');

    expect(texts()).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d WARN {2}vend failed code=UnknownClient requestId=a$/),
    ]);
    console.close();
  });
});
