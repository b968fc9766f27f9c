import { describe, expect, it } from 'vitest';
import { simulatedEntriesOf } from '../../../local/simulated-clients.js';

const SIM = 'http://127.0.0.1:8788/identity';
const entry = (clientId: string, extra: Record<string, unknown> = {}) => ({
  clientId,
  clientSecret: `local-${clientId}`,
  identityUrl: SIM,
  ...extra,
});

describe("local mode's simulated clients (credentials file)", () => {
  it('simulates an entry at the simulator with every permission when it has no role', () => {
    const { entries, warnings } = simulatedEntriesOf({ clients: [entry('plain')] }, SIM);

    expect(entries).toEqual([{ client: { clientId: 'plain', clientSecret: 'local-plain' }, follow: false }]);
    expect(warnings).toEqual([]);
  });

  it('takes the role and API user of simulatedRole, and follows the simulator from another loopback port', () => {
    const role = { permissions: ['Read-Only Lead', 'Approve Assets'], apiUser: 'sync@example.test' };

    const { entries } = simulatedEntriesOf(
      { clients: [entry('reader', { identityUrl: 'http://127.0.0.1:1/identity', simulatedRole: role })] },
      SIM,
    );

    expect(entries).toEqual([
      {
        client: {
          clientId: 'reader',
          clientSecret: 'local-reader',
          permissions: ['Read-Only Lead', 'Approve Assets'],
          scope: 'sync@example.test',
        },
        follow: true,
      },
    ]);
  });

  it('leaves real Marketo clients alone, and says so when one carries a role', () => {
    const real = 'https://123-ABC-456.mktorest.com/identity';

    const { entries, warnings } = simulatedEntriesOf(
      {
        clients: [
          entry('real', { identityUrl: real }),
          entry('real-with-role', { identityUrl: real, simulatedRole: { permissions: [] } }),
        ],
      },
      SIM,
    );

    expect(entries).toEqual([]);
    expect(warnings).toEqual([
      'real-with-role: has a simulatedRole but names a real Identity host; it is not simulated',
    ]);
  });

  it('keeps every permission for the demo client, ignoring a role given to it', () => {
    const { entries, warnings } = simulatedEntriesOf(
      { clients: [entry('demo-client', { simulatedRole: { permissions: ['Read-Only Lead'] } })] },
      SIM,
    );

    expect(entries).toEqual([]);
    expect(warnings).toEqual(['demo-client: the demo client keeps every permission; its role is ignored']);
  });

  it('leaves an unknown permission name out of the role, with a warning naming it', () => {
    const { entries, warnings } = simulatedEntriesOf(
      { clients: [entry('typo', { simulatedRole: { permissions: ['Read-Only Leads', 'Read-Only Lead'] } })] },
      SIM,
    );

    expect(entries[0]?.client.permissions).toEqual(['Read-Only Lead']);
    expect(warnings).toEqual([
      'typo: "Read-Only Leads" is not a Marketo API permission (e.g. "Read-Only Lead"); left out of the role',
    ]);
  });
});
