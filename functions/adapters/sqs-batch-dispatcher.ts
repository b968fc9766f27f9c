import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RegisteredClient } from '../core/ports.js';

/** Body of one refresh fan-out message: the clients one worker invocation sweeps. */
export interface RefreshBatchMessage {
  readonly clients: readonly RegisteredClient[];
}

/** SQS takes at most 10 messages per SendMessageBatch. */
const SQS_BATCH_LIMIT = 10;

/** Sends refresh batches to the fan-out queue, ten messages per request; fails if any message is refused. */
export class SqsBatchDispatcher {
  constructor(private readonly options: { readonly client: SQSClient; readonly queueUrl: string }) {}

  async dispatch(batches: ReadonlyArray<readonly RegisteredClient[]>): Promise<void> {
    for (let start = 0; start < batches.length; start += SQS_BATCH_LIMIT) {
      const entries = batches.slice(start, start + SQS_BATCH_LIMIT).map((clients, i) => ({
        Id: String(start + i),
        MessageBody: JSON.stringify({ clients } satisfies RefreshBatchMessage),
      }));
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
