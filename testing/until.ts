import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for an event, not a duration: polls `condition` every `pollMs` (real time) until it holds. No
 * deadline of its own, so a slow machine only waits longer; the test's timeout bounds a condition that
 * never comes, and `describe` names what was awaited.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: { readonly pollMs?: number } = {},
): Promise<void> {
  while (!(await condition())) await delay(options.pollMs ?? 10);
}
