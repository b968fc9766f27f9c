import type { UsageRecorder } from '../budget/usage.js';
import type { BulkUsageSink } from './ports.js';

/**
 * Books each counted Bulk job end to its consumer in the usage per consumer (core/budget/usage.ts): one job
 * and its extracted bytes on the holder's client and principal, written at once (a job ends minutes apart, so
 * the end does not wait in the buffer for the next permit's flush).
 */
export const recordBulkUsage =
  (recorder: Pick<UsageRecorder, 'record' | 'flush'>): BulkUsageSink =>
  async ({ instance, holder, bytes }) => {
    recorder.record(instance, holder, { bulkJobs: 1, extractBytes: bytes });
    await recorder.flush();
  };
