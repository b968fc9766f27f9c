import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  delaySecondsFor,
  planSqsRequests,
  SQS_MAX_ENTRIES_PER_REQUEST,
  SQS_MAX_PAYLOAD_BYTES,
  SqsBatchDispatcher,
} from '../../../../functions/adapters/sqs-batch-dispatcher.js';
import { REFRESH_BATCH_SIZE_RANGE } from '../../../../functions/contract/index.js';
import type { RegisteredClient } from '../../../../functions/core/ports.js';

type Entry = { Id: string; MessageBody: string; DelaySeconds?: number };

/** Messages of `size` clients each, visible at once. */
const messagesOf = (clients: readonly RegisteredClient[], size: number) =>
  Array.from({ length: Math.ceil(clients.length / size) }, (_, i) => ({
    visibleAt: 0,
    clients: clients.slice(i * size, (i + 1) * size),
  }));

/** An SQS client that records each SendMessageBatch and refuses the entries named in `refuse`. */
function recordingSqs(refuse: ReadonlySet<string> = new Set()) {
  const requests: Entry[][] = [];
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      expect(command).toBeInstanceOf(SendMessageBatchCommand);
      const entries = (command.input.Entries ?? []) as Entry[];
      requests.push(entries);
      const failed = entries.filter((e) => refuse.has(e.Id));
      return {
        Successful: entries.filter((e) => !refuse.has(e.Id)).map((e) => ({ Id: e.Id })),
        Failed: failed.map((e) => ({ Id: e.Id, Code: 'KMS.Throttled', SenderFault: false })),
      };
    },
  } as unknown as SQSClient;
  return { client, requests };
}

/** A 128-character id, the longest allowed, unique per index. */
const longId = (prefix: string, i: number): string =>
  `${prefix}${String(i).padStart(6, '0')}`.padEnd(128, 'x');
const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
const clientsOf = (bodies: readonly string[]): RegisteredClient[] =>
  bodies.flatMap((body) => (JSON.parse(body) as { clients: RegisteredClient[] }).clients);

describe('SqsBatchDispatcher', () => {
  it('keeps every request within 256 KiB with 128-character ids at the largest batch size', async () => {
    const clients = Array.from({ length: 10 * REFRESH_BATCH_SIZE_RANGE.max }, (_, i) => ({
      clientId: longId('c', i),
    }));
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).send(
      messagesOf(clients, REFRESH_BATCH_SIZE_RANGE.max),
    );
    for (const request of sqs.requests) {
      expect(request.length).toBeLessThanOrEqual(SQS_MAX_ENTRIES_PER_REQUEST);
      expect(request.reduce((sum, e) => sum + bytes(e.MessageBody), 0)).toBeLessThanOrEqual(
        SQS_MAX_PAYLOAD_BYTES,
      );
    }
    expect(clientsOf(sqs.requests.flat().map((e) => e.MessageBody))).toEqual(clients);
  });

  it('splits one batch whose message would exceed 256 KiB, keeping each pool in one message', () => {
    const clients = Array.from({ length: REFRESH_BATCH_SIZE_RANGE.max }, (_, i) => ({
      clientId: longId('p', i),
      instance: longId('i', Math.floor(i / 10)),
    }));
    const requests = planSqsRequests([{ visibleAt: 0, clients }]);
    const bodies = requests.flat().map((planned) => planned.body);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(bytes(body)).toBeLessThanOrEqual(SQS_MAX_PAYLOAD_BYTES);
    expect(clientsOf(bodies)).toEqual(clients);
    const messageOfPool = new Map<string, Set<number>>();
    bodies.forEach((body, message) => {
      for (const { instance } of clientsOf([body])) {
        messageOfPool.set(String(instance), (messageOfPool.get(String(instance)) ?? new Set()).add(message));
      }
    });
    expect([...messageOfPool.values()].every((messages) => messages.size === 1)).toBe(true);
  });

  it('sends ten small messages in one request and the eleventh in the next', async () => {
    const messages = messagesOf(
      Array.from({ length: 11 }, (_, i) => ({ clientId: `c-${i}` })),
      1,
    );
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).send(messages);
    expect(sqs.requests.map((r) => r.length)).toEqual([10, 1]);
    expect(sqs.requests.flat().map((e) => e.Id)).toEqual(messages.map((_, i) => String(i)));
  });

  it('delays each message to its instant, in whole seconds rounded down, reckoned when its request is sent', async () => {
    const sqs = recordingSqs();
    const now = 1_000_000;
    await new SqsBatchDispatcher({
      client: sqs.client,
      queueUrl: 'https://sqs.local/q',
      now: () => now,
    }).send([
      { visibleAt: now + 42_900, clients: [{ clientId: 'later' }] },
      { visibleAt: now + 999, clients: [{ clientId: 'within-a-second' }] },
      { visibleAt: now - 5_000, clients: [{ clientId: 'overdue' }] },
    ]);
    expect(sqs.requests.flat().map((e) => e.DelaySeconds)).toEqual([42, undefined, undefined]);
  });

  it('caps a delay at SQS’s 15 minutes', () => {
    expect(delaySecondsFor(2_000_000, 0)).toBe(900);
  });

  it('fails naming how many messages SQS refused and why', async () => {
    const sqs = recordingSqs(new Set(['1']));
    const dispatcher = new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' });
    await expect(dispatcher.send(messagesOf([{ clientId: 'a' }, { clientId: 'b' }], 1))).rejects.toThrow(
      'refresh fan-out: 1 of 2 messages refused (KMS.Throttled)',
    );
  });

  it('sends nothing for no messages', async () => {
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).send([]);
    expect(sqs.requests).toEqual([]);
  });
});
