/** `ms` scaled by a random factor in [0.5, 1.5), so that instances waiting together spread out. */
export const jitter = (ms: number, random: () => number): number => Math.round(ms * (0.5 + random()));
