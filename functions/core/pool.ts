/**
 * Instance pools: several Custom Services of one Marketo instance, with token expiries staggered so that
 * one of them always has plenty of life left. Pure functions, driven by the refresher and tested alone.
 */

import type { RegisteredClient } from './ports.js';

/** Pools by instance name, members sorted by client id; clients without an instance are not pooled. */
export function groupByInstance(clients: readonly RegisteredClient[]): Map<string, string[]> {
  const pools = new Map<string, string[]>();
  for (const { clientId, instance } of clients) {
    if (instance !== undefined) pools.set(instance, [...(pools.get(instance) ?? []), clientId].sort());
  }
  return pools;
}

/**
 * Who really belongs to `instance`: a client listed under its instance tag counts only when its secret's own
 * `instance` field names the same instance. The tag is what any principal with `secretsmanager:TagResource`
 * may change; the value only the secret's writers can, so the two must agree (issue 22). `secretInstances`
 * maps each tagged client to its secret's `instance` (undefined: none, or unreadable).
 */
export function confirmedMembers(
  instance: string,
  secretInstances: ReadonlyMap<string, string | undefined>,
): { readonly members: string[]; readonly excluded: string[] } {
  const members: string[] = [];
  const excluded: string[] = [];
  for (const [clientId, secretInstance] of secretInstances) {
    (secretInstance === instance ? members : excluded).push(clientId);
  }
  return { members: members.sort(), excluded: excluded.sort() };
}

const mod = (value: number, period: number): number => ((value % period) + period) % period;

/**
 * How long to delay fetching a pool member's next token so that its expiry lands in the middle of the
 * largest gap between the other members' expiries (taken modulo the token lifespan). 0 when there are
 * no other live members, or when delaying would leave the pool with less than half a slot of life.
 */
export function staggerDelayMs(
  now: number,
  lifespanMs: number,
  otherExpiries: readonly number[],
  memberCount: number,
): number {
  const live = otherExpiries.filter((e) => e > now);
  if (live.length === 0 || memberCount < 2) return 0;
  const positions = live.map((e) => mod(e, lifespanMs)).sort((a, b) => a - b);
  let bestStart = positions[positions.length - 1];
  let bestGap = positions[0] + lifespanMs - bestStart;
  for (let i = 1; i < positions.length; i += 1) {
    const gap = positions[i] - positions[i - 1];
    if (gap > bestGap) {
      bestGap = gap;
      bestStart = positions[i - 1];
    }
  }
  const target = mod(bestStart + bestGap / 2, lifespanMs);
  const slotMs = lifespanMs / memberCount;
  // A fetch can only be delayed. When the target passed a moment ago (within a quarter slot), fetch at
  // once rather than wait almost a whole cycle for it to come round again.
  const ahead = mod(target - (now + lifespanMs), lifespanMs);
  const delay = ahead > lifespanMs - slotMs / 4 ? 0 : Math.round(ahead);
  // Only delay while another member keeps the pool covered with margin.
  return Math.max(...live) - (now + delay) >= slotMs / 2 ? delay : 0;
}

/**
 * The least remaining life the pool's freshest token will have before the next expiry replaces it:
 * the lifespan minus the largest gap between consecutive expiries (modulo the lifespan).
 */
export function guaranteedRemainingMs(expiries: readonly number[], lifespanMs: number): number {
  if (expiries.length === 0) return 0;
  const positions = expiries.map((e) => mod(e, lifespanMs)).sort((a, b) => a - b);
  let largestGap = positions[0] + lifespanMs - positions[positions.length - 1];
  for (let i = 1; i < positions.length; i += 1)
    largestGap = Math.max(largestGap, positions[i] - positions[i - 1]);
  return Math.max(0, lifespanMs - largestGap);
}
