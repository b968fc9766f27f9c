import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MemoryBulkSlotStore } from '../../functions/adapters/memory-bulk-slot-store.js';
import { createBulkSlots } from '../../functions/core/bulk/index.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { createBulkSlotService } from '../../functions/http/bulk-slot-request.js';
import { createTelemetry } from '../../functions/telemetry.js';
import { createVendHandler } from '../../functions/vend.js';
import { FakeClock } from '../../testing/clocks.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../testing/fake-identity.js';
import { MemoryTokenStore } from '../../testing/memory-token-store.js';
import { lambdaContext, routeEvent } from '../support/api-event.js';

// 2026-12-01 20:00 UTC = 14:00 in Chicago: the export quota resets at 2026-12-02T06:00Z.
const START = Date.UTC(2026, 11, 1, 20, 0, 0);
const SLOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OTHER_ROLE = 'arn:aws:iam::111122223333:role/someone-else';

const world = (options: { readonly slots?: boolean; readonly limits?: object } = {}) => {
  const clock = new FakeClock(START);
  const credentials = new MemoryCredentials([
    { ...testCredentials('sync-job'), restUrl: 'https://123-abc-456.mktorest.com', instance: 'acme' },
    { ...testCredentials('webhooks'), instance: 'acme' },
  ]);
  const slots = createBulkSlots(
    { store: new MemoryBulkSlotStore(), clock, random: () => 0 },
    { limits: { default: options.limits ?? {} } },
  );
  const vendor = createTokenVendor({
    store: new MemoryTokenStore(),
    credentials,
    identity: new FakeIdentity(clock),
  });
  // The vend Lambda's handler: the slot routes are dispatched and their failures mapped like every route's.
  const handler = createVendHandler({
    vendor,
    telemetry: createTelemetry('bulk-slot-api-test'),
    ...(options.slots === false ? {} : { bulkSlots: createBulkSlotService({ slots, credentials }) }),
  });
  const send = async (event: APIGatewayProxyEvent) => {
    const response = (await handler(event, lambdaContext())) as APIGatewayProxyResult;
    return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
  };
  return { clock, send };
};

const take = (body: object, userArn?: string) =>
  routeEvent('bulk-slot', { clientId: 'sync-job' }, { body, ...(userArn ? { userArn } : {}) });
const renew = (body: object, userArn?: string) =>
  routeEvent('bulk-slot-renew', { clientId: 'sync-job' }, { body, ...(userArn ? { userArn } : {}) });
const release = (body: object, userArn?: string) =>
  routeEvent('bulk-slot-release', { clientId: 'sync-job' }, { body, ...(userArn ? { userArn } : {}) });

describe('Bulk API slot routes', () => {
  it('grants an extract slot with its instance, lease, usage and the export quota reset', async () => {
    const { send } = world();

    const response = await send(take({ kind: 'extract', leaseMs: 60_000, expectedBytes: 1_000 }));

    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store' });
    expect(response.json).toEqual({
      slotId: expect.stringMatching(SLOT_ID),
      instance: '123-abc-456.mktorest.com',
      kind: 'extract',
      leaseExpiresAt: '2026-12-01T20:01:00.000Z',
      unmetered: false,
      usage: {
        slots: { extract: { inUse: 1, limit: 10 }, import: { inUse: 0, limit: 10 } },
        exportBytes: 0,
        exportBytesExpected: 1_000,
        exportDailyBytes: 500_000_000,
        jobsEnded: { extract: 0, import: 0 },
      },
      dailyExportQuotaResetsAt: '2026-12-02T06:00:00.000Z',
    });
  });

  it('answers 429 BulkSlotUnavailable with the exact wait and its reason when every place is held', async () => {
    const { send } = world({ limits: { extractJobs: 1 } });
    await send(take({ kind: 'extract' }));

    const response = await send(take({ kind: 'extract' }));

    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(response.json).toEqual({
      error: {
        code: 'BulkSlotUnavailable',
        message: "every extract place of the instance's Bulk API queue is held: retry in 1000 ms",
        retryAfterMs: 1_000,
        reason: 'slots',
      },
    });
  });

  it('answers 429 DailyExportQuotaExhausted with the reset time once the day reached its quota', async () => {
    const { send } = world({ limits: { exportDailyBytes: 1_000 } });
    const slot = (await send(take({ kind: 'extract' }))).json;
    await send(release({ slotId: slot.slotId, bytes: 1_000 }));

    const response = await send(take({ kind: 'extract' }));

    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({ 'Retry-After': String(10 * 3600) });
    expect(response.json).toMatchObject({
      error: { code: 'DailyExportQuotaExhausted', resetsAt: '2026-12-02T06:00:00.000Z' },
    });
  });

  it("renews a slot's lease for its holder", async () => {
    const { send, clock } = world();
    const slot = (await send(take({ kind: 'extract', leaseMs: 60_000 }))).json;
    await clock.advance(30_000);

    const response = await send(renew({ slotId: slot.slotId, leaseMs: 60_000 }));

    expect(response.json).toMatchObject({ slotId: slot.slotId, leaseExpiresAt: '2026-12-01T20:01:30.000Z' });
  });

  it('answers 409 BulkSlotNotHeld when another principal renews or releases the slot', async () => {
    const { send } = world();
    const slot = (await send(take({ kind: 'extract' }))).json;

    const renewed = await send(renew({ slotId: slot.slotId }, OTHER_ROLE));
    const released = await send(release({ slotId: slot.slotId, bytes: 5 }, OTHER_ROLE));

    expect([renewed.statusCode, released.statusCode]).toEqual([409, 409]);
    expect(released.json).toEqual({
      error: { code: 'BulkSlotNotHeld', message: 'that slot is held by another client or principal' },
    });
  });

  it("reports a job's end with its bytes, once", async () => {
    const { send } = world();
    const slot = (await send(take({ kind: 'extract' }))).json;

    const first = await send(release({ slotId: slot.slotId, bytes: 1_234 }));
    const again = await send(release({ slotId: slot.slotId, bytes: 1_234 }));

    expect(first.json).toMatchObject({ released: true, countedBytes: 1_234, usage: { exportBytes: 1_234 } });
    expect(again.json).toEqual({ released: false, countedBytes: 0 });
  });

  it("takes a pool's slot on the instance of its members", async () => {
    const { send } = world();
    const response = await send(
      routeEvent('instance-bulk-slot', { instance: 'acme' }, { body: { kind: 'import' } }),
    );
    expect(response.json).toMatchObject({ instance: '123-abc-456.mktorest.com', kind: 'import' });
  });

  it.for([
    [{}, 'kind must be "extract" or "import"'],
    [{ kind: 'activities' }, 'kind must be "extract" or "import"'],
    [{ kind: 'extract', expectedBytes: -1 }, 'expectedBytes must be a whole number'],
    [{ kind: 'extract', leaseMs: 1_000 }, 'leaseMs must be a whole number from 5000 to 3600000'],
    [{ kind: 'extract', count: 2 }, 'unknown field "count"'],
  ] as const)('answers 400 InvalidRequest to the slot body %j: %s', async ([body, message]) => {
    const { send } = world();
    const response = await send(take(body));
    expect(response.statusCode).toBe(400);
    expect(response.json).toEqual({ error: { code: 'InvalidRequest', message } });
  });

  it('answers 400 to a release naming no slot id the API returned', async () => {
    const { send } = world();
    const response = await send(release({ slotId: '../other', bytes: 1 }));
    expect(response.json).toEqual({
      error: { code: 'InvalidRequest', message: 'slotId must be a slot id this API returned' },
    });
  });

  it('answers 404 NotFound on the slot routes of a vendor without slots', async () => {
    const { send } = world({ slots: false });
    expect((await send(take({ kind: 'extract' }))).statusCode).toBe(404);
  });
});
