/**
 * The refresher's scheduled run: reads from the refresh index only the refreshes due before the next run
 * and queues each as a message that becomes visible just before its due instant, so the work of a run
 * follows the tokens that are due (about N ÷ 60 a minute), and no invocation waits for an expiry.
 */
import type {
  Clock,
  CredentialsSource,
  DueRefresh,
  Logger,
  MetricsSink,
  RefreshIndex,
  RefreshMessage,
  RefreshPlanState,
  RefreshQueue,
  RegisteredClient,
} from './ports.js';

/** What a scheduled run talks to. */
export interface RefreshPlannerDeps {
  readonly index: RefreshIndex;
  readonly queue: RefreshQueue;
  /** Every registered client, listed when a run reconciles. */
  readonly credentials: Pick<CredentialsSource, 'list'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsSink;
}

/** How the runs plan (the contract's defaults in the Lambda). */
export interface RefreshPlanSettings {
  /** Schedule period: a run queues what is due before the next one is due to run, plus `marginMs`. */
  readonly periodMs: number;
  readonly marginMs: number;
  /** A message becomes visible this long (plus up to a second) before the earliest refresh in it is due. */
  readonly leadMs: number;
  /** A refresh not done this long after it was due is overdue: queued again at once, and counted. */
  readonly overdueAfterMs: number;
  /** How often a run lists every registered client, to queue those missing from the index. */
  readonly reconcileEveryMs: number;
  /** Most clients in one message. */
  readonly maxClientsPerMessage: number;
}

/** What one scheduled run did. */
export interface RefreshPlanSummary {
  /** The window of due instants this run queued: [from, until) (epoch ms). */
  readonly from: number;
  readonly until: number;
  /** Clients queued (each at most once per run) and the messages they went in. */
  readonly queued: number;
  readonly messages: number;
  /** Refreshes due more than `overdueAfterMs` ago and not done (the backlog): queued again now. */
  readonly overdue: number;
  /** With a reconciliation: registered clients listed, and those missing from the index (queued now). */
  readonly listed?: number;
  readonly missing?: number;
  /** Another run moved the plan on first: this one queued nothing. */
  readonly superseded?: boolean;
}

/** A client to queue and when its refresh is due. */
interface Planned {
  readonly client: RegisteredClient;
  readonly dueAt: number;
}

const clientOf = (entry: DueRefresh): RegisteredClient =>
  entry.instance === undefined
    ? { clientId: entry.clientId }
    : { clientId: entry.clientId, instance: entry.instance };

/**
 * Groups refreshes into messages: one per second of visibility (SQS delays are whole seconds), each visible
 * `leadMs` before the earliest refresh in it (at once when that is past), at most `maxClientsPerMessage`
 * clients each, members of a pool side by side.
 */
export function messagesFor(
  planned: readonly Planned[],
  now: number,
  leadMs: number,
  maxClientsPerMessage: number,
): RefreshMessage[] {
  const bySecond = new Map<number, Planned[]>();
  for (const entry of planned) {
    const second = Math.max(0, Math.floor((entry.dueAt - leadMs - now) / 1000));
    const group = bySecond.get(second);
    if (group) group.push(entry);
    else bySecond.set(second, [entry]);
  }
  const messages: RefreshMessage[] = [];
  for (const second of [...bySecond.keys()].sort((a, b) => a - b)) {
    const entries = (bySecond.get(second) ?? []).sort(
      (a, b) =>
        (a.client.instance ?? '').localeCompare(b.client.instance ?? '') ||
        a.client.clientId.localeCompare(b.client.clientId),
    );
    for (let i = 0; i < entries.length; i += maxClientsPerMessage) {
      const part = entries.slice(i, i + maxClientsPerMessage);
      const earliest = Math.min(...part.map((p) => p.dueAt));
      messages.push({ visibleAt: Math.max(now, earliest - leadMs), clients: part.map((p) => p.client) });
    }
  }
  return messages;
}

/** The index has no upper bound on due instants: this stands for "whenever". */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * One scheduled run. It moves the plan state on first (a compare-and-swap, so two overlapping runs never
 * queue the same window twice), then queues:
 * - the refreshes due in [plannedUntil, now + period + margin), each delayed to just before its instant;
 * - the overdue ones (due more than `overdueAfterMs` ago and still not done: a lost message, a failed
 *   refresh), at once, counted in `RefreshOverdue`;
 * - every `reconcileEveryMs`, registered clients missing from the index (new clients, items stored before
 *   the index existed), at once.
 * If sending fails the run fails; what it did not queue is overdue for the next run.
 */
export async function runRefreshPlan(
  deps: RefreshPlannerDeps,
  settings: RefreshPlanSettings,
): Promise<RefreshPlanSummary> {
  const { index, queue, credentials, clock, logger, metrics } = deps;
  const now = clock.now();
  const overdueBefore = now - settings.overdueAfterMs;
  const state = await index.readPlan();
  // The first run starts at the overdue line: everything due before it is overdue.
  const from = state?.plannedUntil ?? overdueBefore;
  const until = Math.max(from, now + settings.periodMs + settings.marginMs);
  const reconcile = state === undefined || now - state.reconciledAt >= settings.reconcileEveryMs;
  const next: RefreshPlanState = {
    plannedUntil: until,
    reconciledAt: reconcile ? now : (state?.reconciledAt ?? now),
    version: (state?.version ?? 0) + 1,
  };
  if (!(await index.advancePlan(state, next))) {
    logger.info('refresh plan: another run moved the plan on first', { from });
    metrics.record('RefreshOverdue', 0, 'Count');
    return { from, until: from, queued: 0, messages: 0, overdue: 0, superseded: true };
  }

  const planned: Planned[] = [];
  for await (const entry of index.due({ until: Math.min(from, overdueBefore) }))
    planned.push({ client: clientOf(entry), dueAt: entry.refreshAt });
  for await (const entry of index.due({ from, until }))
    planned.push({ client: clientOf(entry), dueAt: entry.refreshAt });
  const overdue = planned.filter((p) => p.dueAt < overdueBefore).length;

  let listed: number | undefined;
  let missing: number | undefined;
  if (reconcile) {
    const registered = await credentials.list();
    const indexed = new Set<string>();
    for await (const entry of index.due({ until: NO_LIMIT })) indexed.add(entry.clientId);
    const absent = registered.filter((client) => !indexed.has(client.clientId));
    for (const client of absent) planned.push({ client, dueAt: now });
    listed = registered.length;
    missing = absent.length;
  }

  const messages = messagesFor(planned, now, settings.leadMs, settings.maxClientsPerMessage);
  await queue.send(messages);
  metrics.record('RefreshQueued', planned.length, 'Count');
  metrics.record('RefreshOverdue', overdue, 'Count');
  const summary: RefreshPlanSummary = {
    from,
    until,
    queued: planned.length,
    messages: messages.length,
    overdue,
    ...(listed === undefined ? {} : { listed, missing }),
  };
  if (overdue > 0) logger.warn('refresh plan: overdue refreshes queued again', { ...summary });
  else logger.info('refresh plan', { ...summary });
  return summary;
}
