/**
 * Policy patterns (`*`, `team-a-*`, `team-*-*-sync`) matched in linear time. `*` matches any run of
 * characters, as in IAM resource ARNs. A pattern used to become a regular expression, and `.*` several times
 * over backtracks: `team-*-*-*-sync` against `team-` and 2,500 dashes held the event loop for seconds. Here
 * the pattern's literal pieces are found left to right, each at its first place after the previous one
 * (for `*`-only globs the leftmost placement is always the right one), so nothing is ever tried twice.
 */

/** Whether `value` matches `pattern`, where `*` matches any run of characters (none included). */
export function matchesPattern(value: string, pattern: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return value === pattern;
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // The middle pieces, each after the one before, inside what the first and last pieces leave free.
  let from = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i += 1) {
    const piece = pieces[i] as string;
    if (piece === '') continue;
    const at = value.indexOf(piece, from);
    if (at === -1 || at + piece.length > end) return false;
    from = at + piece.length;
  }
  return true;
}
