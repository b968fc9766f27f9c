/** `clients remove`: deletes the registration (recoverable by default) and the cached token item. */

import { fingerprint } from '../../functions/core/fingerprint.js';
import { assertValidClientId } from '../../functions/core/ids.js';
import { CliError } from '../errors.js';
import { type CliIo, confirm, writeLine } from '../io.js';
import type { Target } from '../target.js';

/** `clients remove` options. */
export interface RemoveOptions {
  readonly yes?: boolean;
  readonly recoveryWindowDays: number;
  readonly forceDeleteWithoutRecovery?: boolean;
}

/** Removes a client after a confirmation (unless `--yes`), then says what happened to its cached token. */
export async function removeClientCommand(
  target: Target,
  io: CliIo,
  clientId: string,
  options: RemoveOptions,
): Promise<void> {
  assertValidClientId(clientId);
  const force = options.forceDeleteWithoutRecovery === true;
  if (!options.yes) {
    const how =
      target.mode === 'local'
        ? ''
        : force
          ? ' WITHOUT recovery'
          : ` (recoverable for ${options.recoveryWindowDays} days)`;
    const ok = await confirm(
      io,
      `Remove client ${clientId}? This deletes ${target.registry.whereIs(clientId)}${how} and its cached token. [y/N] `,
    );
    if (!ok) throw new CliError('aborted: nothing was removed');
  }
  const store = await target.store();
  const record = await store.get(clientId);
  const removed = await target.registry.remove(clientId, {
    recoveryWindowDays: options.recoveryWindowDays,
    forceDeleteWithoutRecovery: force,
  });
  if (record !== undefined) await store.delete(clientId);
  if (removed === undefined && record === undefined) {
    throw new CliError(
      `${target.registry.whereIs(clientId)} not found — nothing to remove (see clients list)`,
    );
  }
  writeLine(
    io,
    removed === undefined ? `${target.registry.whereIs(clientId)} was not registered` : removed.detail,
  );
  if (record?.token !== undefined) {
    const expiresAt = new Date(record.token.expiresAt).toISOString();
    writeLine(
      io,
      `cached token ${fingerprint(record.token.accessToken)} removed from the store; warm vend functions may serve it ` +
        `from memory until it expires (${expiresAt}) — delete the Custom Service in Marketo to cut access at once`,
    );
  } else if (record !== undefined) {
    writeLine(io, 'cached token item removed from the store');
  }
}
