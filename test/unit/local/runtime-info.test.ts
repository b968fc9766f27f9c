import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type RuntimeInfo,
  readLiveRuntimeInfo,
  readRuntimeInfo,
  removeRuntimeInfo,
  writeRuntimeInfo,
} from '../../../local/runtime-info.js';

describe('runtime.json of a running local server', () => {
  let dir: string;
  const info: RuntimeInfo = {
    pid: process.pid,
    dynamoEndpoint: 'http://127.0.0.1:4567',
    tableName: 'marketo-token-vendor-local',
    credentialsFile: '/tmp/credentials.json',
    apiUrl: 'http://127.0.0.1:8787',
    region: 'us-east-1',
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
