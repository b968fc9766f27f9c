/** `clients list`: every registered client plus orphaned token items, as a table or JSON. */
import pLimit from 'p-limit';
import type { TokenStore } from '../../functions/core/ports.js';
import { type ClientView, clientView, renderList, withSharedApiUsers } from '../client-view.js';
import { type CliIo, writeLine } from '../io.js';
import type { Target } from '../target.js';
import { readRegistration } from './registration.js';

/** Lists the clients of the target: registrations and the token items of the store, joined by client id. */
export async function listClients(
  target: Target,
  io: CliIo,
  options: { readonly json?: boolean },
): Promise<void> {
  const registered = await target.registry.credentials.list();
  const store = await target.store();
  const records = new Map<string, Awaited<ReturnType<TokenStore['get']>>>();
  for await (const record of store.list()) records.set(record.clientId, record);
  const limit = pLimit(8);
  const now = Date.now();
  const views: ClientView[] = await Promise.all(
    registered.map(({ clientId, instance }) =>
      limit(async () => {
        const registration = (await readRegistration(target, clientId)) ?? {
          error: 'registration disappeared',
        };
        return clientView(
          clientId,
          { ...(instance === undefined ? {} : { instance }), ...registration },
          records.get(clientId),
          now,
        );
      }),
    ),
  );
  const known = new Set(registered.map((c) => c.clientId));
  for (const [clientId, record] of records) {
    if (!known.has(clientId)) views.push(clientView(clientId, undefined, record, now));
  }
  views.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  const shown = withSharedApiUsers(views);
  if (options.json) {
    writeLine(io, JSON.stringify(shown, null, 2));
    return;
  }
  if (views.length === 0) {
    writeLine(
      io,
      `no clients registered (${target.registry.description}) — add one with: clients add <clientId> --identity-url https://<munchkin>.mktorest.com/identity`,
    );
    return;
  }
  io.stdout.write(renderList(shown));
}
