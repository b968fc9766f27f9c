/**
 * One consumer cannot block another, end to end in local mode (issue 22, and issue 23's "the budget's
 * isolation issues apply here too"): two keys, each granted one of two Custom Services of one simulated
 * instance, call the permit routes over signed HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';

/** Team A: may use client `team-a-sync` only. */
const KEY_A = {
  accessKeyId: 'ISOLATIONTEAMA',
  secretAccessKey: 'isolation-team-a-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-a',
  clients: ['team-a-sync'],
  instances: [],
};
/** Team B: may use client `team-b-sync` only, another Custom Service of the same instance. */
const KEY_B = {
  accessKeyId: 'ISOLATIONTEAMB',
  secretAccessKey: 'isolation-team-b-local-secret',
  principalArn: 'arn:aws:iam::000000000000:role/team-b',
  clients: ['team-b-sync'],
  instances: [],
};
const CLIENT_A = { clientId: 'team-a-sync', clientSecret: 'isolation-team-a-marketo-secret' };
const CLIENT_B = { clientId: 'team-b-sync', clientSecret: 'isolation-team-b-marketo-secret' };

type Key = typeof KEY_A;

const start = async (extra: Parameters<typeof startTestLocalVendor>[0] = {}): Promise<TestLocalVendor> => {
  const local = await startTestLocalVendor({
    dataDirPrefix: 'mtv-budget-isolation-',
    policy: { keys: [KEY_A, KEY_B] },
    ...extra,
  });
  await local.addClient(CLIENT_A);
  await local.addClient(CLIENT_B);
  return local;
};

/** A signed POST to a permit route of `clientId` with `key`: the answer's body, or the typed error. */
const post = async (
  local: TestLocalVendor,
  key: Key,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> => {
  const call = local.signedCaller(key);
  return call({ method: 'POST', path, query: {}, body, retryBudgetMs: 0 }).then(
    (answer) => answer.body as Record<string, unknown>,
    (error: { code?: string; status?: number; reason?: string }) => ({
      error: error.code,
      status: error.status,
    }),
  );
};

const permitOf = (local: TestLocalVendor, key: Key, body: Record<string, unknown> = {}) =>
  post(local, key, `/tokens/${key.clients[0]}/permits`, body);
const releaseOf = (local: TestLocalVendor, key: Key, body: Record<string, unknown>) =>
  post(local, key, `/tokens/${key.clients[0]}/permits/release`, body);

describe('two teams on one instance in local mode: permits', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    // Two concurrent calls on the instance, each client may hold both: only the binding of releases is tested.
    local = await start({
      env: { BUDGET_LIMITS: JSON.stringify({ default: { concurrentCalls: 2, clientShare: 1 } }) },
    });
  });

  afterAll(() => local.stop());

  it("team B's release of team A's permit frees nothing; team A's own release does", async () => {
    const heldByA = await permitOf(local, KEY_A, { leaseMs: 60_000 });
    const heldByB = await permitOf(local, KEY_B, { leaseMs: 60_000 });

    await releaseOf(local, KEY_B, { permitId: heldByA.permitId });
    const whileAHolds = await permitOf(local, KEY_B);
    await releaseOf(local, KEY_A, { permitId: heldByA.permitId });
    const afterARelease = await permitOf(local, KEY_B);

    expect(whileAHolds).toEqual({ error: 'PermitUnavailable', status: 429 });
    expect(afterARelease).toMatchObject({ count: 1, unmetered: false });
    await releaseOf(local, KEY_B, { permitId: heldByB.permitId });
    await releaseOf(local, KEY_B, { permitId: afterARelease.permitId });
  });
});

describe('two teams on one instance in local mode: concurrency shares', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await start();
  });

  afterAll(() => local.stop());

  it('team A holds at most half of the 10 concurrent calls with 60 s leases; team B still gets a permit', async () => {
    const byA = [];
    for (let i = 0; i < 6; i += 1) byA.push(await permitOf(local, KEY_A, { leaseMs: 60_000 }));
    // Six calls at once are an idle instance's burst: team B's call is due one pacing slot later.
    const byB = await permitOf(local, KEY_B, { maxWaitMs: 5_000 });

    expect(byA.map((answer) => answer.error ?? 'granted')).toEqual([
      ...Array<string>(5).fill('granted'),
      'PermitUnavailable',
    ]);
    expect(byB).toMatchObject({ count: 1, unmetered: false });
  });
});

describe("two teams on one instance in local mode: a reported 607 (the simulator's usage.json confirms or not)", () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await start({ simulatorLimits: { dailyQuota: 1_000 } });
  });

  afterAll(() => local.stop());

  it("team A's 607 does not stop team B while Marketo still serves calls", async () => {
    const held = await permitOf(local, KEY_A);

    await releaseOf(local, KEY_A, { permitId: held.permitId, marketoError: '607' });
    const forB = await permitOf(local, KEY_B);

    expect(forB).toMatchObject({ count: 1, unmetered: false });
    // The vendor asked Marketo itself, under a permit of its own: the simulator counted its usage.json call.
    expect(local.sim.usageToday()).toEqual({
      date: expect.any(String),
      total: 1,
      users: [{ userId: 'team-a-sync@api-user.marketo-simulator.test', count: 1 }],
    });
    await releaseOf(local, KEY_B, { permitId: forB.permitId });
  });
});

describe('two teams on one instance in local mode: a 607 that Marketo confirms', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await start({ simulatorLimits: { dailyQuota: 1_000 } });
  });

  afterAll(() => local.stop());

  it("closes the day for team B too once the simulator's quota is used up by an outside integration", async () => {
    const held = await permitOf(local, KEY_A);
    local.sim.recordOutsideCalls(1_000);

    await releaseOf(local, KEY_A, { permitId: held.permitId, marketoError: '607' });
    const forB = await permitOf(local, KEY_B);

    expect(forB).toEqual({ error: 'DailyQuotaExhausted', status: 429 });
  });
});
