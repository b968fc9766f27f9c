import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';

/** One message the stub accepted. */
export interface SqsStubEntry {
  readonly body: string;
  /** `DelaySeconds` as sent (0 when absent). */
  readonly delaySeconds: number;
  /** When it arrived, on the stub's clock (`now`). */
  readonly sentAt: number;
}

/** Options of {@link startSqsStub}. */
export interface SqsStubOptions {
  /** The clock `sentAt` is read from (a virtual clock in the benchmarks). @default Date.now */
  readonly now?: () => number;
}

/** A loopback SQS speaking the JSON protocol for SendMessageBatch only: enough for the refresher fan-out. */
export interface SqsStub {
  readonly endpoint: string;
  readonly client: SQSClient;
  /** Message bodies received, in order. */
  readonly received: string[];
  /** The messages received, in order, with their delay and arrival time. */
  readonly entries: SqsStubEntry[];
  /** SendMessageBatch requests received (each is one billed SQS request). */
  requests(): number;
  /** Refuses the next `times` entries with the given code. */
  refuseNext(times: number, code?: string): void;
  stop(): Promise<void>;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export async function startSqsStub(options: SqsStubOptions = {}): Promise<SqsStub> {
  const now = options.now ?? Date.now;
  const received: string[] = [];
  const entries: SqsStubEntry[] = [];
  let requests = 0;
  let refusals = { times: 0, code: 'InternalError' };
  const server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = JSON.parse((await readBody(req)) || '{}') as {
      Entries?: Array<{ Id: string; MessageBody: string; DelaySeconds?: number }>;
    };
    res.setHeader('Content-Type', 'application/x-amz-json-1.0');
    if (target !== 'AmazonSQS.SendMessageBatch') {
      res.statusCode = 400;
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.sqs#UnsupportedOperation',
          message: `${target} not stubbed`,
        }),
      );
      return;
    }
    requests += 1;
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const entry of input.Entries ?? []) {
      if (refusals.times > 0) {
        refusals.times -= 1;
        Failed.push({ Id: entry.Id, SenderFault: false, Code: refusals.code, Message: 'refused by stub' });
        continue;
      }
      received.push(entry.MessageBody);
      entries.push({ body: entry.MessageBody, delaySeconds: entry.DelaySeconds ?? 0, sentAt: now() });
      Successful.push({
        Id: entry.Id,
        MessageId: randomUUID(),
        MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
      });
    }
    res.end(JSON.stringify({ Successful, Failed }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return {
    endpoint,
    client,
    received,
    entries,
    requests: () => requests,
    refuseNext(times, code = 'InternalError') {
      refusals = { times, code };
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
