/**
 * A whole Bulk Extract under a slot of the instance's queue: take a slot, create the job, enqueue it, poll
 * its status with backoff (renewing the slot), give the slot back with the file's size once the job ended,
 * then download the file. Every Marketo call goes through `marketoFetch`: a token and a permit of the shared
 * API budget each, 601/602 recovered from, 606/615 backed off. Marketo's Bulk API answers errors as HTTP 200
 * with `success: false`: 1029 "Too many jobs in queue" (an integration outside the vendor filled the queue)
 * is waited out, 1029 "Export daily quota exceeded" throws `DailyExportQuotaExhausted`.
 */
import type { BulkSlotLease, BulkSlotOptions, BulkSlots } from './bulk-slots.js';
import { MarketoApiError, TokenVendorClientError } from './errors.js';
import type { PermitTarget } from './permits.js';
import type { ClientClock } from './signed-call.js';

/** A Bulk Extract job's status as Marketo names it. */
export type BulkJobStatus = 'Created' | 'Queued' | 'Processing' | 'Completed' | 'Failed' | 'Cancelled';

/** Options of `TokenClient.bulkExport`. */
export interface BulkExportOptions<T = string> {
  /** The instance's REST base URL, e.g. `https://123-ABC-456.mktorest.com` (Bulk paths are not under `/rest`). */
  readonly restUrl: string;
  /** What to extract: `leads`, `activities`, `program/members` or `customobjects/<apiName>`. @default 'leads' */
  readonly object?: string;
  /** The create request's body: `fields`, `filter`, `format`, `columnHeaderNames` (Marketo's, as they are). */
  readonly job: Readonly<Record<string, unknown>>;
  /** Bytes the job is expected to export (the last run's), held against the day's quota until it ends. */
  readonly expectedBytes?: number;
  /** The slot's lease; renewed while the job runs. @default 120_000 */
  readonly leaseMs?: number;
  /** Longest wait for a slot (and for a place in a queue others filled). @default 1_800_000 (30 min) */
  readonly maxSlotWaitMs?: number;
  /** First status poll after this, doubling up to `maxPollMs`. @default 5_000 */
  readonly firstPollMs?: number;
  /** @default 60_000 */
  readonly maxPollMs?: number;
  /** Give up on a job that has not ended after this (it is cancelled). @default 21_600_000 (6 h) */
  readonly maxJobMs?: number;
  /** Reads the file (`GET …/file.json`). @default the body as text */
  readonly consume?: (file: Response) => Promise<T>;
  /** Told what happens: slot granted, job created, queue full (waiting), queued, each status, ended. */
  readonly onEvent?: (event: BulkExportEvent) => void;
}

export type BulkExportEvent =
  | { readonly kind: 'slot'; readonly slotId: string; readonly waitedMs: number; readonly unmetered: boolean }
  | { readonly kind: 'created'; readonly exportId: string }
  | { readonly kind: 'queue-full'; readonly retryInMs: number }
  | { readonly kind: 'queued'; readonly exportId: string }
  | { readonly kind: 'status'; readonly status: BulkJobStatus }
  | { readonly kind: 'ended'; readonly status: BulkJobStatus; readonly bytes: number };

/** A finished export. */
export interface BulkExportResult<T = string> {
  readonly exportId: string;
  /** Bytes of the file, as Marketo reported them (what the day's quota counted). */
  readonly bytes: number;
  readonly numberOfRecords: number;
  readonly file: T;
  /** How long the export waited for its slot. */
  readonly slotWaitedMs: number;
  /** Status polls made. */
  readonly polls: number;
}

interface JobRecord {
  readonly exportId?: string;
  readonly status?: BulkJobStatus;
  readonly fileSize?: number;
  readonly numberOfRecords?: number;
}

interface BulkAnswer {
  readonly success?: boolean;
  readonly result?: readonly JobRecord[];
  readonly errors?: ReadonlyArray<{ readonly code?: unknown; readonly message?: unknown }>;
}

const TERMINAL: ReadonlySet<BulkJobStatus> = new Set(['Completed', 'Failed', 'Cancelled']);
/** Marketo's code for both a full extract queue and a used-up daily export quota. */
const BULK_LIMIT_CODE = '1029';

const quotaError = (message: string): TokenVendorClientError =>
  new TokenVendorClientError('DailyExportQuotaExhausted', `Marketo answered 1029: ${message}`, {
    status: 429,
  });

/** What a Bulk API answer carried: the job, or a typed error. 1029 "…queue…" is returned for the caller to wait. */
const jobOf = async (response: Response, what: string): Promise<JobRecord | 'queue-full'> => {
  const answer = (await response.json()) as BulkAnswer;
  if (answer.success === true) return answer.result?.[0] ?? {};
  const error = answer.errors?.[0];
  const code = String(error?.code ?? 'unknown');
  const message = String(error?.message ?? what);
  if (code !== BULK_LIMIT_CODE) throw new MarketoApiError(code, message);
  if (/quota/i.test(message)) throw quotaError(message);
  return 'queue-full';
};

/** The calls a bulk export makes. */
export interface BulkExportDeps {
  readonly slots: BulkSlots;
  /** `TokenClient.marketoFetch` of the export's client. */
  readonly marketoFetch: (url: string, init?: RequestInit) => Promise<Response>;
  readonly clock: ClientClock;
}

/** Runs one export (see the module comment). */
export async function runBulkExport<T = string>(
  deps: BulkExportDeps,
  target: PermitTarget,
  options: BulkExportOptions<T>,
): Promise<BulkExportResult<T>> {
  const { clock, marketoFetch } = deps;
  const emit = (event: BulkExportEvent): void => options.onEvent?.(event);
  const base = `${options.restUrl.replace(/\/+$/, '')}/bulk/v1/${options.object ?? 'leads'}/export`;
  const maxPollMs = options.maxPollMs ?? 60_000;
  const slotOptions: BulkSlotOptions = {
    kind: 'extract',
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.expectedBytes === undefined ? {} : { expectedBytes: options.expectedBytes }),
    ...(options.maxSlotWaitMs === undefined ? {} : { maxWaitMs: options.maxSlotWaitMs }),
  };
  const slot: BulkSlotLease = await deps.slots.acquire(target, slotOptions);
  emit({ kind: 'slot', slotId: slot.slotId, waitedMs: slot.waitedMs, unmetered: slot.unmetered });
  /** Sleeps no longer than a third of the lease, renewing the slot before each wait. */
  const pause = async (ms: number): Promise<void> => {
    await slot.renewIfDue();
    await clock.sleep(
      slot.unmetered ? ms : Math.min(ms, Math.max(1, (slot.leaseExpiresAt - clock.now()) / 3)),
    );
  };
  let exportId: string | undefined;
  let ended: JobRecord | undefined;
  try {
    const created = await jobOf(
      await marketoFetch(`${base}/create.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(options.job),
      }),
      'create failed',
    );
    if (created === 'queue-full' || typeof created.exportId !== 'string') {
      throw new MarketoApiError('unknown', 'create answered no exportId');
    }
    exportId = created.exportId;
    emit({ kind: 'created', exportId });
    const started = clock.now();
    // Enqueue; a queue filled by integrations outside the vendor is waited out while the slot is kept.
    for (let waitMs = options.firstPollMs ?? 5_000; ; waitMs = Math.min(maxPollMs, waitMs * 2)) {
      const queued = await jobOf(
        await marketoFetch(`${base}/${exportId}/enqueue.json`, { method: 'POST' }),
        'enqueue failed',
      );
      if (queued !== 'queue-full') {
        emit({ kind: 'queued', exportId });
        break;
      }
      if (clock.now() + waitMs - started > (options.maxSlotWaitMs ?? 1_800_000)) {
        throw new MarketoApiError(BULK_LIMIT_CODE, 'Too many jobs in queue');
      }
      emit({ kind: 'queue-full', retryInMs: waitMs });
      await pause(waitMs);
    }
    let polls = 0;
    const deadline = clock.now() + (options.maxJobMs ?? 21_600_000);
    for (let waitMs = options.firstPollMs ?? 5_000; ; waitMs = Math.min(maxPollMs, waitMs * 2)) {
      await pause(waitMs);
      polls += 1;
      const status = await jobOf(await marketoFetch(`${base}/${exportId}/status.json`), 'status failed');
      if (status === 'queue-full' || status.status === undefined) continue;
      emit({ kind: 'status', status: status.status });
      if (TERMINAL.has(status.status)) {
        ended = status;
        break;
      }
      if (clock.now() > deadline)
        throw new MarketoApiError('timeout', `export ${exportId} did not end in time`);
    }
    const bytes = ended.status === 'Completed' ? (ended.fileSize ?? 0) : 0;
    // The place is Marketo's queue's: given back as soon as the job ended, before the download.
    await slot.release(bytes);
    emit({ kind: 'ended', status: ended.status as BulkJobStatus, bytes });
    if (ended.status !== 'Completed') {
      throw new MarketoApiError(String(ended.status), `export ${exportId} ended ${ended.status}`);
    }
    const file = await marketoFetch(`${base}/${exportId}/file.json`);
    const consume = options.consume ?? ((response: Response) => response.text() as Promise<T>);
    return {
      exportId,
      bytes,
      numberOfRecords: ended.numberOfRecords ?? 0,
      file: await consume(file),
      slotWaitedMs: slot.waitedMs,
      polls,
    };
  } catch (error) {
    if (ended === undefined) {
      // A job given up on is cancelled (best effort): it must not go on filling the queue and the quota.
      if (exportId !== undefined) {
        await marketoFetch(`${base}/${exportId}/cancel.json`, { method: 'POST' }).then(
          (response) => response.body?.cancel(),
          () => undefined,
        );
      }
      await slot.release(0);
    }
    throw error;
  }
}
