import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarketoSimulator, type MarketoSimulator } from '../../../local/marketo-simulator.js';
import { type SimulatedBulkOptions, simulatedFile } from '../../../local/simulator/bulk.js';
import { registerSensitive } from '../../../testing/leak-scan.js';

const CLIENT = { clientId: 'sync-job', clientSecret: 'sim-bulk-secret-1' };
const OTHER = { clientId: 'other-job', clientSecret: 'sim-bulk-secret-2' };
// 2026-12-01 20:00 UTC = 14:00 in Chicago: the export quota resets at 2026-12-02T06:00Z.
const T0 = Date.UTC(2026, 11, 1, 20, 0, 0);
const RESET = Date.UTC(2026, 11, 2, 6, 0, 0);
registerSensitive(CLIENT.clientSecret, OTHER.clientSecret);

interface Answer {
  readonly success: boolean;
  readonly result?: ReadonlyArray<Record<string, unknown>>;
  readonly errors?: ReadonlyArray<{ readonly code: string; readonly message: string }>;
}

describe('simulator: Bulk Extract', () => {
  let sim: MarketoSimulator;
  let now = T0;
  const tokens: Record<string, string> = {};

  /** Tokens of both clients (again after the clock moved past their lifespan). */
  const signIn = async () => {
    for (const client of [CLIENT, OTHER]) {
      const response = await fetch(
        `${sim.identityUrl}/oauth/token?grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
      );
      tokens[client.clientId] = ((await response.json()) as { access_token: string }).access_token;
    }
  };

  const start = async (bulk: Partial<SimulatedBulkOptions>) => {
    now = T0;
    sim = createMarketoSimulator({ clients: [CLIENT, OTHER], now: () => now, bulk });
    await sim.start();
    await signIn();
  };

  const call = async (method: 'GET' | 'POST', path: string, client = CLIENT, body?: object) => {
    const response = await fetch(`${sim.restUrl}/bulk/v1/leads/export${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[client.clientId]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Answer;
  };
  const create = async (client = CLIENT) =>
    call('POST', '/create.json', client, { fields: ['id', 'email'], format: 'CSV' });
  const job = (answer: Answer) => answer.result?.[0] as Record<string, unknown>;
  const queuedJob = async (client = CLIENT) => {
    const id = job(await create(client)).exportId as string;
    await call('POST', `/${id}/enqueue.json`, client);
    return id;
  };
  const statusOf = async (id: string) => job(await call('GET', `/${id}/status.json`)).status;

  beforeEach(() => start({ processingMs: 60_000, fileBytes: 5_000 }));
  afterEach(() => sim.stop());

  it('creates a job in status Created, as Marketo answers it', async () => {
    expect(job(await create())).toEqual({
      exportId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      format: 'CSV',
      status: 'Created',
      createdAt: '2026-12-01T20:00:00Z',
    });
  });

  it('moves an enqueued job Queued → Processing → Completed on its clock', async () => {
    const id = job(await create()).exportId as string;
    expect(job(await call('POST', `/${id}/enqueue.json`)).status).toBe('Queued');
    expect(await statusOf(id)).toBe('Processing');
    now += 60_000;
    expect(job(await call('GET', `/${id}/status.json`))).toMatchObject({
      status: 'Completed',
      queuedAt: '2026-12-01T20:00:00Z',
      startedAt: '2026-12-01T20:00:00Z',
      finishedAt: '2026-12-01T20:01:00Z',
      fileSize: 5_000,
    });
  });

  it('serves a completed file of exactly the configured size, with the checksum its status names', async () => {
    const id = await queuedJob();
    now += 60_000;
    const status = job(await call('GET', `/${id}/status.json`));
    const file = await fetch(`${sim.restUrl}/bulk/v1/leads/export/${id}/file.json`, {
      headers: { authorization: `Bearer ${tokens[CLIENT.clientId]}` },
    });
    const text = await file.text();
    expect(Buffer.byteLength(text)).toBe(5_000);
    expect(text.startsWith('id,email,firstName,lastName\n1,lead1@example.com,Ada,Lovelace\n')).toBe(true);
    expect(status.fileChecksum).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('processes two jobs at once; the third waits Queued until a lane frees', async () => {
    const ids = [await queuedJob(), await queuedJob(), await queuedJob()];
    expect(await Promise.all(ids.map(statusOf))).toEqual(['Processing', 'Processing', 'Queued']);
    now += 60_000;
    expect(await Promise.all(ids.map(statusOf))).toEqual(['Completed', 'Completed', 'Processing']);
    expect(sim.bulkCounters().peakProcessing).toBe(2);
  });

  it('answers the 11th enqueue with 1029 "Too many jobs in queue" (HTTP 200, success false)', async () => {
    for (let i = 0; i < 10; i += 1) await queuedJob();
    const id = job(await create()).exportId as string;
    expect(await call('POST', `/${id}/enqueue.json`)).toMatchObject({
      success: false,
      errors: [{ code: '1029', message: 'Too many jobs in queue' }],
    });
    expect(sim.bulkCounters()).toMatchObject({ refusedQueueFull: 1, peakQueued: 10 });
  });

  it('answers create and enqueue with 1029 "Export daily quota exceeded" once the day\'s files reached the quota', async () => {
    await sim.stop();
    await start({ processingMs: 1_000, fileBytes: 5_000, exportDailyBytes: 10_000 });
    const waiting = job(await create()).exportId as string;
    await queuedJob();
    await queuedJob();
    now += 1_000;
    const refused = { success: false, errors: [{ code: '1029', message: 'Export daily quota exceeded' }] };
    expect(await create()).toMatchObject(refused);
    expect(await call('POST', `/${waiting}/enqueue.json`)).toMatchObject(refused);
    expect(sim.bulkCounters()).toMatchObject({ refusedQuota: 2, exportedBytes: 10_000 });
  });

  it('starts a new export quota at 00:00 America/Chicago', async () => {
    await sim.stop();
    await start({ processingMs: 1_000, fileBytes: 5_000, exportDailyBytes: 5_000 });
    await queuedJob();
    now += 1_000;
    expect((await create()).success).toBe(false);
    now = RESET;
    await signIn();
    expect((await create()).success).toBe(true);
  });

  it("counts a completed file's bytes for the client that created the job", async () => {
    await queuedJob(CLIENT);
    await queuedJob(OTHER);
    await queuedJob(OTHER);
    now += 120_000;
    expect(sim.bulkCounters().exportedBytesByClient).toEqual({
      [CLIENT.clientId]: 5_000,
      [OTHER.clientId]: 10_000,
    });
  });

  it('frees a lane when a processing job is cancelled', async () => {
    const ids = [await queuedJob(), await queuedJob(), await queuedJob()];
    expect(job(await call('POST', `/${ids[0]}/cancel.json`)).status).toBe('Cancelled');
    expect(await statusOf(ids[2] as string)).toBe('Processing');
  });

  it('refuses a call without a token with 601, as REST does', async () => {
    const response = await fetch(`${sim.restUrl}/bulk/v1/leads/export/create.json`, {
      method: 'POST',
      body: '{}',
    });
    expect(await response.json()).toMatchObject({ success: false, errors: [{ code: '601' }] });
  });

  it('shares one queue between leads and activities', async () => {
    for (let i = 0; i < 10; i += 1) await queuedJob();
    const created = await fetch(`${sim.restUrl}/bulk/v1/activities/export/create.json`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[CLIENT.clientId]}` },
      body: '{}',
    });
    const id = ((await created.json()) as Answer).result?.[0]?.exportId as string;
    const enqueued = await fetch(`${sim.restUrl}/bulk/v1/activities/export/${id}/enqueue.json`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[CLIENT.clientId]}` },
    });
    expect(await enqueued.json()).toMatchObject({ errors: [{ code: '1029' }] });
  });
});

describe('simulated export file', () => {
  it('is a CSV of leads of exactly the size asked for', () => {
    for (const bytes of [28, 29, 100, 4_321]) expect(Buffer.byteLength(simulatedFile(bytes))).toBe(bytes);
  });
});
