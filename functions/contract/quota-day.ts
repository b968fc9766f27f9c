/**
 * Marketo's daily quota resets at 12:00 AM US Central (America/Chicago, so 05:00 or 06:00 UTC depending on
 * daylight saving time). Computed with Intl: no time zone library.
 */
const TIME_ZONE = 'America/Chicago';

/**
 * Built on first use: a formatter for a named time zone loads ICU's zone data, about 25 ms of every cold
 * start of the vend function otherwise, which a token vend never needs (only the budget's permits do).
 */
let formatter: Intl.DateTimeFormat | undefined;
const chicagoFormatter = (): Intl.DateTimeFormat => {
  formatter ??= new Intl.DateTimeFormat('en-US', {
    timeZone: TIME_ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return formatter;
};

interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const wallClock = (epochMs: number): WallClock => {
  const parts: Record<string, number> = {};
  for (const part of chicagoFormatter().formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year as number,
    month: parts.month as number,
    day: parts.day as number,
    hour: parts.hour as number,
    minute: parts.minute as number,
    second: parts.second as number,
  };
};

/** Chicago's offset from UTC at `epochMs`, in ms (negative: -5 h or -6 h), whole seconds only. */
const offsetMs = (epochMs: number): number => {
  const w = wallClock(epochMs);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
};

/** The quota day `epochMs` falls in, as `YYYY-MM-DD` in Chicago. */
export function quotaDay(epochMs: number): string {
  const w = wallClock(epochMs);
  return `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** The instant (epoch ms) the quota day containing `epochMs` ends: the next 00:00 in Chicago. */
export function nextQuotaReset(epochMs: number): number {
  const w = wallClock(epochMs);
  const midnightWall = Date.UTC(w.year, w.month - 1, w.day + 1, 0, 0, 0);
  // Midnight is never inside a DST jump in Chicago (they happen at 02:00), so two passes settle the offset.
  let guess = midnightWall - offsetMs(epochMs);
  guess = midnightWall - offsetMs(guess);
  return guess;
}
