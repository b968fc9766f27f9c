/** `clients status <clientId>`: one client in detail, its token as a fingerprint only. */
import { assertValidClientId } from '../../functions/core/credentials.js';
import { clientView, renderStatus } from '../client-view.js';
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
  const record = await (await target.store()).get(clientId);
  if (registration === undefined && record === undefined) throw notRegistered(target, clientId);
  const now = Date.now();
  const view = clientView(clientId, registration, record, now);
  if (options.json) writeLine(io, JSON.stringify(view, null, 2));
  else io.stdout.write(renderStatus(view, now));
}
