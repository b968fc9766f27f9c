import { isValidClientId, isValidInstance } from './ids.js';

/** One client of a refresh fan-out message (a pool member names its instance). */
export interface RefreshBatchEntry {
  readonly clientId: string;
  readonly instance?: string;
}

/**
 * Body of one refresh fan-out message, `{"clients":[{"clientId":"…","instance":"…"}]}`: the clients one
 * worker invocation sweeps. The scheduled run writes it (functions/adapters/sqs-batch-dispatcher.ts), the
 * worker reads it (functions/refresh.ts).
 */
export interface RefreshBatchMessage {
  readonly clients: readonly RefreshBatchEntry[];
}

export const formatRefreshBatch = (clients: readonly RefreshBatchEntry[]): string =>
  JSON.stringify({ clients } satisfies RefreshBatchMessage);

/** Reads a message body; throws an `Error` saying what is wrong (never quoting the body). */
export function parseRefreshBatch(body: string): RefreshBatchEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error('refresh batch message is not JSON');
  }
  const clients = (parsed as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(clients)) throw new Error('refresh batch message has no clients array');
  return clients.map((entry: unknown, index) => {
    const { clientId, instance } = (entry ?? {}) as { clientId?: unknown; instance?: unknown };
    if (!isValidClientId(clientId)) throw new Error(`refresh batch entry ${index} has no valid clientId`);
    if (instance === undefined) return { clientId };
    if (!isValidInstance(instance)) throw new Error(`refresh batch entry ${index} has an invalid instance`);
    return { clientId, instance };
  });
}
