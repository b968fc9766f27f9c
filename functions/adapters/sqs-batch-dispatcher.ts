import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { formatRefreshBatch, SQS_MAX_DELAY_SECONDS } from '../contract/index.js';
import type { RefreshMessage, RefreshQueue, RegisteredClient } from '../core/ports.js';

/**
 * SendMessageBatch limits: at most 10 entries, and at most 256 KiB (262,144 bytes) for one message and
 * for the sum of the bodies in one request (SQS API reference, SendMessageBatch; `BatchRequestTooLong`).
 */
export const SQS_MAX_ENTRIES_PER_REQUEST = 10;
export const SQS_MAX_PAYLOAD_BYTES = 262_144;

const bodyOf = formatRefreshBatch;

const bytesOf = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Bytes of `{"clients":[]}`: a body is this plus its entries and the commas between them. */
const EMPTY_BODY_BYTES = bytesOf(bodyOf([]));
const entryBytes = (client: RegisteredClient): number => bytesOf(JSON.stringify(client));

/**
 * Splits a batch whose message would exceed the limit. Pool members stay together where the pool fits
 * in one message (the sweep staggers a pool's expiries within its batch); only a pool larger than a
 * whole message is cut. Sizes are summed per entry, so a split costs one serialization per client.
 */
function splitOversized(clients: readonly RegisteredClient[], limitBytes: number): RegisteredClient[][] {
  const sizes = clients.map(entryBytes);
  const bodyBytes = (entries: number, entriesBytes: number): number =>
    EMPTY_BODY_BYTES + entriesBytes + Math.max(0, entries - 1);
  if (
    bodyBytes(
      clients.length,
      sizes.reduce((a, b) => a + b, 0),
    ) <= limitBytes
  )
    return [[...clients]];
  const groups = new Map<string, { clients: RegisteredClient[]; bytes: number }>();
  clients.forEach((client, i) => {
    const key = client.instance === undefined ? `client:${client.clientId}` : `pool:${client.instance}`;
    const group = groups.get(key) ?? { clients: [], bytes: 0 };
    group.clients.push(client);
    group.bytes += sizes[i] ?? 0;
    groups.set(key, group);
  });
  const parts: RegisteredClient[][] = [];
  let current: RegisteredClient[] = [];
  let currentBytes = 0;
  const flush = () => {
    if (current.length > 0) parts.push(current);
    current = [];
    currentBytes = 0;
  };
  const add = (members: readonly RegisteredClient[], bytes: number) => {
    current.push(...members);
    currentBytes += bytes;
  };
  for (const group of groups.values()) {
    if (bodyBytes(current.length + group.clients.length, currentBytes + group.bytes) > limitBytes) flush();
    if (bodyBytes(group.clients.length, group.bytes) <= limitBytes) {
      add(group.clients, group.bytes);
      continue;
    }
    for (const client of group.clients) {
      const bytes = entryBytes(client);
      if (current.length > 0 && bodyBytes(current.length + 1, currentBytes + bytes) > limitBytes) flush();
      add([client], bytes);
    }
  }
  flush();
  return parts;
}

/** One message body and when it is to become visible. */
export interface PlannedBody {
  readonly body: string;
  readonly visibleAt: number;
}

/**
 * Message bodies packed into requests of at most 10 entries and at most the payload limit in total; a
 * message too large for SQS is split (each part keeps its `visibleAt`).
 */
export function planSqsRequests(
  messages: readonly RefreshMessage[],
  limitBytes: number = SQS_MAX_PAYLOAD_BYTES,
): PlannedBody[][] {
  const bodies = messages.flatMap((message) =>
    splitOversized(message.clients, limitBytes).map((clients) => ({
      body: bodyOf(clients),
      visibleAt: message.visibleAt,
    })),
  );
  const requests: PlannedBody[][] = [];
  let current: PlannedBody[] = [];
  let currentBytes = 0;
  for (const planned of bodies) {
    const { body } = planned;
    const bytes = bytesOf(body);
    if (bytes > limitBytes) {
      throw new Error(`refresh fan-out: one client's message is ${bytes} bytes, over SQS's ${limitBytes}`);
    }
    if (current.length === SQS_MAX_ENTRIES_PER_REQUEST || currentBytes + bytes > limitBytes) {
      requests.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(planned);
    currentBytes += bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** `DelaySeconds` that makes a message sent at `now` visible at `visibleAt` or up to a second before. */
export const delaySecondsFor = (visibleAt: number, now: number): number =>
  Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.floor((visibleAt - now) / 1000)));

/** Options for {@link SqsBatchDispatcher}. */
export interface SqsBatchDispatcherOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The clock delays are reckoned on (read before each request). @default Date.now */
  readonly now?: () => number;
}

/**
 * The refresh queue on SQS: messages in as few SendMessageBatch requests as SQS's count and size limits
 * allow, each delayed (whole seconds, at most 15 minutes) so that it becomes visible at its `visibleAt` or
 * up to a second before; fails if any message is refused.
 */
export class SqsBatchDispatcher implements RefreshQueue {
  constructor(private readonly options: SqsBatchDispatcherOptions) {}

  async send(messages: readonly RefreshMessage[]): Promise<void> {
    const now = this.options.now ?? Date.now;
    let sent = 0;
    for (const bodies of planSqsRequests(messages)) {
      const sentAt = now();
      const entries = bodies.map(({ body, visibleAt }, i) => {
        const delaySeconds = delaySecondsFor(visibleAt, sentAt);
        return {
          Id: String(sent + i),
          MessageBody: body,
          ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
        };
      });
      sent += entries.length;
      const result = await this.options.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
      );
      if (result.Failed && result.Failed.length > 0) {
        const codes = result.Failed.map((f) => f.Code).join(', ');
        throw new Error(
          `refresh fan-out: ${result.Failed.length} of ${entries.length} messages refused (${codes})`,
        );
      }
    }
  }
}
