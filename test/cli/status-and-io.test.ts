import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/errors.js';
import { type CliIo, promptSecret, readSecretFromStdin } from '../../cli/io.js';
import { classify, clientView, formatDuration } from '../../cli/status.js';
import { fingerprint } from '../../functions/core/fingerprint.js';
import type { TokenRecord } from '../../functions/core/ports.js';
import {
  type RuntimeInfo,
  readLiveRuntimeInfo,
  readRuntimeInfo,
  removeRuntimeInfo,
  writeRuntimeInfo,
} from '../../local/runtime-info.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const record = (fields: Partial<TokenRecord> = {}): TokenRecord => ({ clientId: 'c', version: 1, ...fields });
const token = (expiresInMs: number) => ({
  accessToken: 'secret-token-value:ab',
  tokenType: 'bearer',
  expiresAt: NOW + expiresInMs,
  obtainedAt: NOW - 60_000,
});

describe('token status', () => {
  it('is missing without a record', () => {
    expect(classify(undefined, NOW)).toBe('missing');
  });

  it('is missing when the cached token has expired', () => {
    expect(classify(record({ token: token(-1) }), NOW)).toBe('missing');
  });

  it('is expiring with less than 5 minutes left', () => {
    expect(classify(record({ token: token(299_999) }), NOW)).toBe('expiring');
  });

  it('is valid with 5 minutes or more left', () => {
    expect(classify(record({ token: token(300_000) }), NOW)).toBe('valid');
  });

  it('is error when the last refresh failed, even with a valid token', () => {
    const failed = record({
      token: token(3_000_000),
      lastError: { code: 'CredentialsRejected', message: 'x', at: NOW },
    });

    expect(classify(failed, NOW)).toBe('error');
  });

  it('shows the token only as its fingerprint', () => {
    const view = clientView(
      'c',
      { identityUrl: 'https://1-2-3.mktorest.com/identity' },
      record({ token: token(60_000) }),
      NOW,
    );

    expect(JSON.stringify(view)).not.toContain('secret-token-value');
    expect(view).toMatchObject({
      tokenFingerprint: fingerprint('secret-token-value:ab'),
      identityHost: '1-2-3.mktorest.com',
      expiresInSeconds: 60,
    });
  });

  it('reports a lease past its end as lapsed', () => {
    const view = clientView(
      'c',
      undefined,
      record({ lease: { owner: 'lambda-1', leaseUntil: NOW - 1 } }),
      NOW,
    );

    expect(view.lease).toMatchObject({ state: 'lapsed', owner: 'lambda-1' });
  });

  it('formats durations for people', () => {
    expect([formatDuration(3599), formatDuration(3725), formatDuration(59), formatDuration(-190)]).toEqual([
      '59m 59s',
      '1h 02m',
      '59s',
      'expired 3m 10s ago',
    ]);
  });
});

describe('reading the client secret', () => {
  it('drops one trailing newline from stdin', async () => {
    await expect(readSecretFromStdin(Readable.from([Buffer.from('s3cret-value\n')]))).resolves.toBe(
      's3cret-value',
    );
  });

  it('refuses a secret spanning several lines', async () => {
    await expect(readSecretFromStdin(Readable.from([Buffer.from('one\ntwo\n')]))).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it('prompts with raw mode on and echoes nothing of what is typed', async () => {
    const modes: boolean[] = [];
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: (mode: boolean) => modes.push(mode),
    });
    const stderr = new PassThrough();
    let shown = '';
    stderr.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
    });
    const io: CliIo = { stdin, stdout: new PassThrough(), stderr };

    const secret = promptSecret(io, 'Client secret: ');
    stdin.write('typo\u007f\u007f\u007f\u007fhidden-value\r');

    await expect(secret).resolves.toBe('hidden-value');
    expect(modes).toEqual([true, false]);
    expect(shown).toBe('Client secret: \n');
  });

  it('aborts the prompt on Ctrl-C', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const io: CliIo = { stdin, stdout: new PassThrough(), stderr: new PassThrough() };

    const secret = promptSecret(io, '? ');
    stdin.write('\u0003');

    await expect(secret).rejects.toBeInstanceOf(CliError);
  });
});

describe('runtime.json of a running local server', () => {
  let dir: string;
  const info: RuntimeInfo = {
    pid: process.pid,
    dynamoEndpoint: 'http://127.0.0.1:4567',
    tableName: 'marketo-token-vendor-local',
    credentialsFile: '/tmp/credentials.json',
    apiUrl: 'http://127.0.0.1:8787',
    simulatorUrl: 'http://127.0.0.1:8788',
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mtv-runtime-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what was written', async () => {
    await writeRuntimeInfo(dir, info);

    await expect(readRuntimeInfo(dir)).resolves.toEqual(info);
  });

  it('is live while its process runs', async () => {
    await writeRuntimeInfo(dir, info);

    await expect(readLiveRuntimeInfo(dir)).resolves.toEqual(info);
  });

  it('reads as absent when the file is not a runtime record', async () => {
    await writeFile(join(dir, 'runtime.json'), '{"pid":"nope"}');

    await expect(readRuntimeInfo(dir)).resolves.toBeUndefined();
  });

  it('is gone after removal, and removing twice is fine', async () => {
    await writeRuntimeInfo(dir, info);

    await removeRuntimeInfo(dir);
    await removeRuntimeInfo(dir);

    await expect(readRuntimeInfo(dir)).resolves.toBeUndefined();
  });
});
