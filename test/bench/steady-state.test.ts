import { beforeAll, describe, expect, it } from 'vitest';
import { withQuietTelemetry } from '../../bench/lib/quiet.js';
import { AFTER_DESIGN } from '../../bench/scenarios/steady-state-designs.js';
import { type SteadyStateSimResult, simulateSteadyState } from '../../bench/scenarios/steady-state-sim.js';

// A small version of benchmark scenario 9 (virtual clock): the refresh index design for one simulated hour,
// over loopback (dynalite, the real DynamoDB adapter) and with the in-process stand-ins the large runs use.
describe('refresher in steady state (bench scenario 9, small)', () => {
  const clients = 300;
  let loopback: SteadyStateSimResult;
  let inProcess: SteadyStateSimResult;

  beforeAll(async () => {
    const run = (transport: 'loopback' | 'in-process') =>
      withQuietTelemetry(() => simulateSteadyState({ clients, design: AFTER_DESIGN, transport, hours: 1 }));
    loopback = await run('loopback');
    inProcess = await run('in-process');
  }, 120_000);

  it('renews every token once, within 1 s of its expiry', () => {
    const [hour] = loopback.hours;
    expect({ identityCalls: hour?.identityCalls, notInTime: hour?.notInTime }).toEqual({
      identityCalls: clients,
      notInTime: 0,
    });
  });

  it('bills over loopback DynamoDB exactly the requests and units the in-process stand-ins count', () => {
    const billed = (r: SteadyStateSimResult) =>
      r.hours.map((h) => ({ requests: h.dynamo, readUnits: h.readUnits, writeUnits: h.writeUnits }));
    expect(billed(loopback)).toEqual(billed(inProcess));
  });
});
