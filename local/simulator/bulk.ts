/**
 * `/bulk/v1/<object>/export/…`: Marketo's Bulk Extract as the simulator plays it, for leads, activities and
 * program members alike (one queue shared by them all, as Marketo's is): `create.json` (a job in status
 * Created), `{exportId}/enqueue.json` (Queued), `{exportId}/status.json`, `{exportId}/file.json` and
 * `{exportId}/cancel.json`. Jobs are processed in the order they were queued, `processingLimit` at a time,
 * each for `processingMs` on the bulk clock (a fast clock makes a job of minutes end in a blink), then
 * Completed with a file of `fileBytes` (whose bytes count against the day's export quota as the job ends).
 * Past the limits, Marketo's answers: 1029 "Too many jobs in queue" on enqueue when 10 jobs are queued or
 * processing, 1029 "Export daily quota exceeded" on create and enqueue once the day's files reached the
 * quota (00:00 America/Chicago). Every answer is HTTP 200, errors with `success: false`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { MARKETO_BULK_LIMITS, MARKETO_BULK_PROCESSING, quotaDay } from '../../functions/contract/index.js';
import { requestId, sendJson, sendRestError } from './http.js';
import { simulatedLead } from './rest.js';

/** How the simulated instance runs Bulk Extract jobs. */
export interface SimulatedBulkOptions {
  /** Jobs queued at once, processing included (1029 past it). @default 10 */
  readonly queueLimit: number;
  /** Jobs processed at once. @default 2 */
  readonly processingLimit: number;
  /** Bytes of files a day (1029 once reached). @default 500_000_000 */
  readonly exportDailyBytes: number;
  /** How long a job processes, on the bulk clock. @default 60_000 */
  readonly processingMs: number;
  /** Bytes of a job's file (exactly). @default 10_000 */
  readonly fileBytes: number | ((job: { readonly exportId: string; readonly object: string }) => number);
  /** The clock jobs run on. @default the simulator's */
  readonly now?: () => number;
}

export type BulkJobStatus = 'Created' | 'Queued' | 'Processing' | 'Completed' | 'Failed' | 'Cancelled';

interface Job {
  readonly exportId: string;
  readonly object: string;
  /** Who created it (the client of its token), for per-consumer counts. */
  readonly clientId: string | undefined;
  readonly format: string;
  readonly createdAt: number;
  status: BulkJobStatus;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Which processing lane runs it. */
  lane?: number;
  fileSize?: number;
}

/** What the simulator's Bulk Extract saw, for tests and benchmarks. */
export interface BulkCounters {
  readonly created: number;
  readonly enqueued: number;
  readonly completed: number;
  readonly cancelled: number;
  /** Enqueues refused with 1029 "Too many jobs in queue". */
  readonly refusedQueueFull: number;
  /** Creates and enqueues refused with 1029 "Export daily quota exceeded". */
  readonly refusedQuota: number;
  /** Most jobs queued or processing at once. */
  readonly peakQueued: number;
  /** Most jobs processing at once. */
  readonly peakProcessing: number;
  /** Bytes of files completed on the current quota day, and by the client that created the job. */
  readonly exportedBytes: number;
  readonly exportedBytesByClient: Readonly<Record<string, number>>;
}

export const QUEUE_FULL_MESSAGE = 'Too many jobs in queue';
export const EXPORT_QUOTA_MESSAGE = 'Export daily quota exceeded';

const DEFAULTS: SimulatedBulkOptions = {
  queueLimit: MARKETO_BULK_LIMITS.extractJobs,
  processingLimit: MARKETO_BULK_PROCESSING.extract,
  exportDailyBytes: MARKETO_BULK_LIMITS.exportDailyBytes,
  processingMs: 60_000,
  fileBytes: 10_000,
};

const PATH =
  /^\/bulk\/v1\/(leads|activities|program\/members)\/export\/(?:create\.json|([0-9a-f-]{36})\/(enqueue|status|file|cancel)\.json)$/;
const HEADER = 'id,email,firstName,lastName\n';

/** A CSV of fake leads of exactly `bytes` bytes (the last row's last field padded with spaces). */
export function simulatedFile(bytes: number): string {
  let text = HEADER;
  let last = -1;
  for (let id = 1; ; id += 1) {
    const lead = simulatedLead(id);
    const row = `${lead.id},${lead.email},${lead.firstName},${lead.lastName}\n`;
    if (text.length + row.length > bytes) break;
    last = text.length + row.length - 1;
    text += row;
  }
  const missing = bytes - text.length;
  if (missing <= 0) return text.slice(0, Math.max(0, bytes));
  return last < 0
    ? text + ' '.repeat(missing)
    : `${text.slice(0, last)}${' '.repeat(missing)}${text.slice(last)}`;
}

/** The Bulk Extract jobs of one simulated instance. */
export class BulkExtractEndpoint {
  readonly options: SimulatedBulkOptions;
  readonly #now: () => number;
  readonly #jobs = new Map<string, Job>();
  /** When each processing lane is free again (bulk clock). */
  readonly #laneFreeAt: number[];
  #day = '';
  #dayBytes = 0;
  #byClient: Record<string, number> = {};
  #counters = BulkExtractEndpoint.#zero();

  constructor(options: Partial<SimulatedBulkOptions>, simulatorNow: () => number) {
    this.options = { ...DEFAULTS, ...options };
    this.#now = options.now ?? simulatorNow;
    this.#laneFreeAt = Array.from({ length: this.options.processingLimit }, () => Number.NEGATIVE_INFINITY);
  }

  /** Whether this endpoint answers `path`. */
  static serves(path: string): boolean {
    return path.startsWith('/bulk/');
  }

  counters(): BulkCounters {
    this.#advance(this.#now());
    return { ...this.#counters, exportedBytes: this.#dayBytes, exportedBytesByClient: { ...this.#byClient } };
  }

  resetCounters(): void {
    this.#counters = BulkExtractEndpoint.#zero();
  }

  static #zero() {
    return {
      created: 0,
      enqueued: 0,
      completed: 0,
      cancelled: 0,
      refusedQueueFull: 0,
      refusedQuota: 0,
      peakQueued: 0,
      peakProcessing: 0,
    };
  }

  /** Answers one Bulk call (token, limits and role already checked); returns what it answered. */
  handle(res: ServerResponse, method: string, url: URL, body: string, clientId: string | undefined): string {
    const match = PATH.exec(url.pathname);
    if (!match) {
      sendRestError(res, '404', `Requested resource '${url.pathname}' not found`);
      return '404';
    }
    const [, object = 'leads', exportId, action] = match;
    const now = this.#now();
    this.#advance(now);
    if (exportId === undefined)
      return method === 'POST' ? this.#create(res, object, body, clientId, now) : this.#wrongMethod(res);
    const job = this.#jobs.get(exportId);
    if (!job || job.object !== object) {
      sendRestError(res, '1003', `Export id ${exportId} not found`);
      return '1003';
    }
    switch (action) {
      case 'enqueue':
        return method === 'POST' ? this.#enqueue(res, job, now) : this.#wrongMethod(res);
      case 'cancel':
        return method === 'POST' ? this.#cancel(res, job, now) : this.#wrongMethod(res);
      case 'file':
        return this.#file(res, job);
      default:
        this.#answer(res, job);
        return 'ok';
    }
  }

  #wrongMethod(res: ServerResponse): string {
    sendRestError(res, '1003', 'Method not allowed');
    return '1003';
  }

  #quotaReached(): boolean {
    return this.#dayBytes >= this.options.exportDailyBytes;
  }

  #create(
    res: ServerResponse,
    object: string,
    body: string,
    clientId: string | undefined,
    now: number,
  ): string {
    let request: { format?: unknown; fields?: unknown };
    try {
      request = JSON.parse(body === '' ? '{}' : body) as typeof request;
    } catch {
      sendRestError(res, '609', 'Invalid JSON');
      return '609';
    }
    if (this.#quotaReached()) {
      this.#counters.refusedQuota += 1;
      sendRestError(res, '1029', EXPORT_QUOTA_MESSAGE);
      return '1029';
    }
    const job: Job = {
      exportId: randomUUID(),
      object,
      clientId,
      format: typeof request.format === 'string' ? request.format : 'CSV',
      createdAt: now,
      status: 'Created',
    };
    this.#jobs.set(job.exportId, job);
    this.#counters.created += 1;
    this.#answer(res, job);
    return 'ok';
  }

  #enqueue(res: ServerResponse, job: Job, now: number): string {
    if (job.status !== 'Created') {
      sendRestError(res, '1029', `Export job ${job.exportId} is ${job.status}, not Created`);
      return '1029';
    }
    if (this.#quotaReached()) {
      this.#counters.refusedQuota += 1;
      sendRestError(res, '1029', EXPORT_QUOTA_MESSAGE);
      return '1029';
    }
    const queued = [...this.#jobs.values()].filter((j) => j.status === 'Queued' || j.status === 'Processing');
    if (queued.length >= this.options.queueLimit) {
      this.#counters.refusedQueueFull += 1;
      sendRestError(res, '1029', QUEUE_FULL_MESSAGE);
      return '1029';
    }
    job.status = 'Queued';
    job.queuedAt = now;
    this.#counters.enqueued += 1;
    this.#counters.peakQueued = Math.max(this.#counters.peakQueued, queued.length + 1);
    this.#answer(res, job);
    return 'ok';
  }

  #cancel(res: ServerResponse, job: Job, now: number): string {
    if (job.status === 'Processing' && job.lane !== undefined) this.#laneFreeAt[job.lane] = now;
    if (job.status !== 'Completed' && job.status !== 'Failed') {
      if (job.status !== 'Cancelled') this.#counters.cancelled += 1;
      job.status = 'Cancelled';
    }
    this.#answer(res, job);
    return 'ok';
  }

  #file(res: ServerResponse, job: Job): string {
    if (job.status !== 'Completed' || job.fileSize === undefined) {
      sendRestError(res, '1003', `Export job ${job.exportId} has no file (status ${job.status})`);
      return '1003';
    }
    const text = simulatedFile(job.fileSize);
    res
      .writeHead(200, {
        'content-type': 'text/csv;charset=UTF-8',
        'content-length': String(Buffer.byteLength(text)),
      })
      .end(text);
    return 'ok';
  }

  #answer(res: ServerResponse, job: Job): void {
    // Marketo's datetimes: ISO 8601 without milliseconds.
    const stamp = (name: string, at: number | undefined) =>
      at === undefined ? {} : { [name]: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    const file =
      job.status === 'Completed' && job.fileSize !== undefined ? simulatedFile(job.fileSize) : undefined;
    sendJson(res, 200, {
      requestId: requestId(),
      success: true,
      result: [
        {
          exportId: job.exportId,
          format: job.format,
          status: job.status,
          ...stamp('createdAt', job.createdAt),
          ...stamp('queuedAt', job.queuedAt),
          ...stamp('startedAt', job.startedAt),
          ...stamp('finishedAt', job.finishedAt),
          ...(file === undefined
            ? {}
            : {
                numberOfRecords: Math.max(0, file.split('\n').length - 2),
                fileSize: Buffer.byteLength(file),
                fileChecksum: createHash('sha256').update(file).digest('hex'),
              }),
        },
      ],
    });
  }

  /**
   * Runs the queue up to `now`: queued jobs start in order on the lane free soonest (not before they were
   * queued), processing ones complete `processingMs` after they started; a completed file's bytes count on
   * the quota day it completed in.
   */
  #advance(now: number): void {
    for (;;) {
      const next = [...this.#jobs.values()]
        .filter((j) => j.status === 'Queued')
        .sort((a, b) => (a.queuedAt as number) - (b.queuedAt as number))[0];
      if (!next) break;
      let lane = 0;
      for (let i = 1; i < this.#laneFreeAt.length; i += 1) {
        if ((this.#laneFreeAt[i] as number) < (this.#laneFreeAt[lane] as number)) lane = i;
      }
      const start = Math.max(next.queuedAt as number, this.#laneFreeAt[lane] as number);
      if (start > now) break;
      next.status = 'Processing';
      next.startedAt = start;
      next.lane = lane;
      this.#laneFreeAt[lane] = start + this.options.processingMs;
    }
    for (const job of this.#jobs.values()) {
      if (job.status !== 'Processing') continue;
      const finishAt = (job.startedAt as number) + this.options.processingMs;
      if (finishAt > now) continue;
      job.status = 'Completed';
      job.finishedAt = finishAt;
      const size = this.options.fileBytes;
      job.fileSize = typeof size === 'number' ? size : size({ exportId: job.exportId, object: job.object });
      this.#counters.completed += 1;
      if (quotaDay(finishAt) !== this.#day) {
        this.#day = quotaDay(finishAt);
        this.#dayBytes = 0;
        this.#byClient = {};
      }
      this.#dayBytes += job.fileSize;
      const client = job.clientId ?? '(unknown)';
      this.#byClient[client] = (this.#byClient[client] ?? 0) + job.fileSize;
    }
    if (this.#day !== quotaDay(now)) {
      // Nothing completed yet on this quota day: its count starts at 0 (00:00 America/Chicago).
      this.#day = quotaDay(now);
      this.#dayBytes = 0;
      this.#byClient = {};
    }
    const inFlight = [...this.#jobs.values()].filter((j) => j.status === 'Processing').length;
    this.#counters.peakProcessing = Math.max(this.#counters.peakProcessing, inFlight);
  }
}
