/**
 * Simulated Custom Services of local mode, from the credentials file. Besides the demo client (every
 * permission, always), an entry is simulated when it carries a `simulatedRole`, or when its Identity URL is
 * the simulator's:
 *
 *   { "clientId": "sync-readonly", "clientSecret": "any-local-secret",
 *     "identityUrl": "http://127.0.0.1:8788/identity",
 *     "simulatedRole": { "permissions": ["Read-Only Lead", "Read-Only Activity"], "apiUser": "sync@example.test" } }
 *
 * The simulator then accepts its secret, answers 603 outside `permissions` (default: every permission) and
 * names `apiUser` as the token's `scope`. Like the demo entry, a simulated entry on loopback follows the
 * simulator to another port; an entry naming a real Marketo host is never pointed at the simulator. The file
 * is read when local mode starts: restart it after changing a role. Workspaces and partitions are not
 * simulated.
 */
import { upsertClient } from '../functions/adapters/file-credentials.js';
import { isValidClientId, LOOPBACK_HOSTS } from '../functions/contract/index.js';
import { ALL_MARKETO_PERMISSIONS } from '../functions/contract/marketo-permissions.js';
import { parseCredentialsRecord } from '../functions/core/credentials-record.js';
import { readTrustedFile } from './file-trust.js';
import { DEMO_CLIENT, type MarketoSimulator } from './marketo-simulator.js';
import type { SimulatorClient } from './simulator/tokens.js';

/** The field of a credentials file entry that makes it a simulated client with this role. */
export const SIMULATED_ROLE_FIELD = 'simulatedRole';

/** A simulated client read from the file, and whether its URLs must be moved to the simulator's. */
export interface SimulatedEntry {
  readonly client: SimulatorClient;
  readonly follow: boolean;
}

const KNOWN = new Set(ALL_MARKETO_PERMISSIONS);

const isLoopback = (url: string): boolean =>
  URL.canParse(url) && LOOPBACK_HOSTS.includes(new URL(url).hostname);

/** The role of an entry, with unusable parts named in `warnings` (never a secret). */
function roleOf(
  clientId: string,
  raw: unknown,
  warnings: string[],
): Pick<SimulatorClient, 'permissions' | 'scope'> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    warnings.push(
      `${clientId}: ${SIMULATED_ROLE_FIELD} must be an object; the client keeps every permission`,
    );
    return {};
  }
  const { permissions, apiUser } = raw as { permissions?: unknown; apiUser?: unknown };
  const role: { permissions?: string[]; scope?: string } = {};
  if (permissions !== undefined) {
    if (!Array.isArray(permissions)) {
      warnings.push(`${clientId}: ${SIMULATED_ROLE_FIELD}.permissions must be a list of permission names`);
    } else {
      role.permissions = permissions.filter((name): name is string => {
        if (typeof name === 'string' && KNOWN.has(name)) return true;
        warnings.push(
          `${clientId}: "${String(name).slice(0, 60)}" is not a Marketo API permission (e.g. "Read-Only Lead"); left out of the role`,
        );
        return false;
      });
    }
  }
  if (typeof apiUser === 'string' && apiUser.length > 0) role.scope = apiUser;
  return role;
}

/** Picks the simulated clients of a credentials document (pure; see the module comment). */
export function simulatedEntriesOf(
  document: unknown,
  simulatorIdentityUrl: string,
): { readonly entries: readonly SimulatedEntry[]; readonly warnings: readonly string[] } {
  const warnings: string[] = [];
  const entries: SimulatedEntry[] = [];
  const list = (document as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(list)) return { entries, warnings };
  list.forEach((raw: unknown, index) => {
    const fields = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const clientId = fields.clientId;
    if (!isValidClientId(clientId)) return;
    const hasRole = fields[SIMULATED_ROLE_FIELD] !== undefined;
    if (clientId === DEMO_CLIENT.clientId) {
      if (hasRole) warnings.push(`${clientId}: the demo client keeps every permission; its role is ignored`);
      return;
    }
    let record: { identityUrl: string; clientSecret: string };
    try {
      record = parseCredentialsRecord(raw, clientId, `credentials file clients[${index}]`);
    } catch {
      return; // FileCredentials reports unusable entries when they are asked for.
    }
    const atSimulator = record.identityUrl === simulatorIdentityUrl;
    if (!atSimulator && !hasRole) return;
    if (!atSimulator && !isLoopback(record.identityUrl)) {
      warnings.push(
        `${clientId}: has a ${SIMULATED_ROLE_FIELD} but names a real Identity host; it is not simulated`,
      );
      return;
    }
    entries.push({
      client: {
        clientId,
        clientSecret: record.clientSecret,
        ...roleOf(clientId, fields[SIMULATED_ROLE_FIELD], warnings),
      },
      follow: !atSimulator,
    });
  });
  return { entries, warnings };
}

/**
 * Registers the file's simulated clients with the simulator, and points those on another loopback port at
 * it. Returns warnings for the operator (unknown permissions, roles that cannot apply).
 */
export async function registerSimulatedClients(
  path: string,
  simulator: MarketoSimulator,
): Promise<readonly string[]> {
  // Another user's file decides nothing: refused here as the credentials source refuses it.
  const read = await readTrustedFile(path, 'credentials file');
  let document: unknown;
  try {
    document = JSON.parse(read?.text ?? '');
  } catch {
    return []; // A missing or broken file is reported by the credentials source itself.
  }
  const { entries, warnings } = simulatedEntriesOf(document, simulator.identityUrl);
  for (const { client, follow } of entries) {
    simulator.addClient(client);
    if (follow) {
      const current = parseCredentialsRecord(
        (document as { clients: unknown[] }).clients.find(
          (entry) => (entry as { clientId?: unknown } | null)?.clientId === client.clientId,
        ),
        client.clientId,
        'credentials file',
      );
      await upsertClient(path, {
        ...current,
        identityUrl: simulator.identityUrl,
        restUrl: simulator.restUrl,
      });
    }
  }
  return warnings;
}
