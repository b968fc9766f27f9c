import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { rawExchange, signedHead } from '../support/raw-http.js';

/**
 * Issue 23: local mode runs many requests at once in one process. The vend handler's logger context was
 * one for all of them, so an audit line carried whichever request had started last.
 */

const CONCURRENT = 12;

describe('audit lines of concurrent requests', () => {
  let local: TestLocalVendor;
  const written: string[] = [];

  beforeAll(async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    // The Lambda-shaped JSON lines (local mode's console prints text by default, naming the request too).
    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-audit-', logFormat: 'json' });
    for (let i = 0; i < CONCURRENT; i += 1) {
      await local.addClient({ clientId: `audit-${i}`, clientSecret: `audit-secret-${i}-abcdef` });
    }
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write);
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await local?.stop();
  });

  it('name each its own request, the one the response names in x-amzn-RequestId', async () => {
    const key = await local.generatedKey();
    const port = Number(new URL(local.url).port);
    const host = `127.0.0.1:${port}`;

    // Every client is cold: each request waits on Identity while the others start.
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) =>
        rawExchange(port, await signedHead(key, { signedPath: `/tokens/audit-${i}`, host })),
      ),
    );

    const requestIdOf = new Map(
      answers.map((answer) => [
        JSON.parse(answer.body).clientId as string,
        answer.headers['x-amzn-requestid'],
      ]),
    );
    const auditLines = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { message?: string; clientId?: string; function_request_id?: string },
      )
      .filter((line) => line.message === 'vend' && line.clientId?.startsWith('audit-'));
    expect(auditLines).toHaveLength(CONCURRENT);
    for (const line of auditLines) {
      expect([line.clientId, line.function_request_id]).toEqual([
        line.clientId,
        requestIdOf.get(line.clientId ?? ''),
      ]);
    }
    expect(new Set(auditLines.map((line) => line.function_request_id)).size).toBe(CONCURRENT);
  });
});
