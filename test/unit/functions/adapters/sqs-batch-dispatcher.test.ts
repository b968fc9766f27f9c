import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  planSqsRequests,
  SQS_MAX_ENTRIES_PER_REQUEST,
  SQS_MAX_PAYLOAD_BYTES,
  SqsBatchDispatcher,
} from '../../../../functions/adapters/sqs-batch-dispatcher.js';
import { REFRESH_BATCH_SIZE_RANGE } from '../../../../functions/contract/index.js';
import type { RegisteredClient } from '../../../../functions/core/ports.js';
import { planRefreshBatches } from '../../../../functions/core/refresh-plan.js';

type Entry = { Id: string; MessageBody: string };

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
    const batches = planRefreshBatches(clients, REFRESH_BATCH_SIZE_RANGE.max);
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).dispatch(batches);
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
    const requests = planSqsRequests([clients]);
    const bodies = requests.flat();
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

  it('sends ten small batches in one request and the eleventh in the next', async () => {
    const batches = Array.from({ length: 11 }, (_, i) => [{ clientId: `c-${i}` }]);
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).dispatch(batches);
    expect(sqs.requests.map((r) => r.length)).toEqual([10, 1]);
    expect(sqs.requests.flat().map((e) => e.Id)).toEqual(batches.map((_, i) => String(i)));
  });

  it('fails naming how many messages SQS refused and why', async () => {
    const sqs = recordingSqs(new Set(['1']));
    const dispatcher = new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' });
    await expect(dispatcher.dispatch([[{ clientId: 'a' }], [{ clientId: 'b' }]])).rejects.toThrow(
      'refresh fan-out: 1 of 2 messages refused (KMS.Throttled)',
    );
  });

  it('sends nothing for no batches', async () => {
    const sqs = recordingSqs();
    await new SqsBatchDispatcher({ client: sqs.client, queueUrl: 'https://sqs.local/q' }).dispatch([]);
    expect(sqs.requests).toEqual([]);
  });
});
