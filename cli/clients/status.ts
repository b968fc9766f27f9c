/** `clients status <clientId>`: one client in detail (with its API user), its token as a fingerprint only. */
import { assertValidClientId } from '../../functions/core/ids.js';
import { clientView, renderStatus, withSharedApiUsers } from '../client-view.js';
import { type CliIo, writeLine } from '../io.js';
import type { Target } from '../target.js';
import { notRegistered, readRegistration } from './registration.js';

/** Shows one client: its registration and its token item, as a block or JSON. */
export async function showStatus(
  target: Target,
  io: CliIo,
  clientId: string,
  options: { readonly json?: boolean },
): Promise<void> {
  assertValidClientId(clientId);
  const registration = await readRegistration(target, clientId);
  const store = await target.store();
  const record = await store.get(clientId);
  if (registration === undefined && record === undefined) throw notRegistered(target, clientId);
  const now = Date.now();
  // Clients sharing its API user: the other token items naming the same scope.
  const others: Array<{ clientId: string; apiUser?: string }> = [];
  if (record?.token?.scope !== undefined) {
    for await (const other of store.list()) {
      if (other.token?.scope !== undefined)
        others.push({ clientId: other.clientId, apiUser: other.token.scope });
    }
  }
  const [view] = withSharedApiUsers([clientView(clientId, registration, record, now)], others);
  if (options.json) writeLine(io, JSON.stringify(view, null, 2));
  else io.stdout.write(renderStatus(view, now));
}
