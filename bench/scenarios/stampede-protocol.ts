/** Messages between the stampede parent and its worker processes (child_process IPC, JSON). */
import type { ClientCredentials } from '../../functions/core/ports.js';

/** How consumers get their token in a round. */
export type StampedeMode =
  /** Through the vendor: each consumer is its own vendor instance, as each concurrent Lambda would be. */
  | 'vendor'
  /** Today's per-job approach: each consumer calls Identity itself. */
  | 'baseline';

export type ParentMessage =
  | {
      readonly type: 'init';
      readonly dynamoEndpoint: string;
      readonly secretsEndpoint: string;
      readonly tableName: string;
      readonly workerIndex: number;
    }
  | {
      readonly type: 'prepare';
      readonly round: number;
      readonly mode: StampedeMode;
      readonly clientId: string;
      readonly consumers: number;
      readonly offsetMs: number;
      /** Baseline only: the consumer holds the secret itself, as today's clients do. */
      readonly credentials?: ClientCredentials;
    }
  | { readonly type: 'go'; readonly round: number }
  | { readonly type: 'exit' };

/** One consumer's outcome; tokens travel only as fingerprints. */
export interface ConsumerResult {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly tokenFingerprint?: string;
  readonly source?: string;
  readonly code?: string;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'prepared'; readonly round: number }
  | { readonly type: 'result'; readonly round: number; readonly results: readonly ConsumerResult[] };
