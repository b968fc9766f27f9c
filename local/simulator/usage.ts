/**
 * `GET /rest/v1/stats/usage.json`: the calls Marketo counted today for the instance, in total and per API
 * user (the Identity `scope` of the token that made them), reset at 00:00 America/Chicago. It counts every
 * call the simulator accepted, whoever made it: calls through the vendor's permits and "outside" calls of
 * integrations that never talk to the vendor (a test makes those with a token of its own, or with
 * `recordOutsideCalls`). The usage call itself counts, as in Marketo.
 */
import { quotaDay } from '../../functions/contract/index.js';

export const USAGE_JSON_PATH = '/rest/v1/stats/usage.json';

/** The API user outside calls are booked to unless a test names one. */
export const OUTSIDE_USER = 'outside-integration@api-user.marketo-simulator.test';

/** One day's counts. */
export interface DayUsage {
  /** `YYYY-MM-DD` in Chicago. */
  readonly date: string;
  readonly total: number;
  readonly users: ReadonlyArray<{ readonly userId: string; readonly count: number }>;
}

/** Today's calls of one simulated instance. */
export class UsageCounter {
  readonly #now: () => number;
  #day = '';
  #users = new Map<string, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Books `calls` accepted calls to `userId` (the token's API user). */
  record(userId: string, calls = 1): void {
    this.#roll();
    this.#users.set(userId, (this.#users.get(userId) ?? 0) + calls);
  }

  /** Today's counts, as usage.json reports them. */
  today(): DayUsage {
    this.#roll();
    const users = [...this.#users].map(([userId, count]) => ({ userId, count }));
    return { date: this.#day, total: users.reduce((sum, u) => sum + u.count, 0), users };
  }

  #roll(): void {
    const day = quotaDay(this.#now());
    if (day !== this.#day) {
      this.#day = day;
      this.#users = new Map();
    }
  }
}
