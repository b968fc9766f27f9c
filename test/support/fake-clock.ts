/** Moved to testing/clocks.ts (shared by the tests and the benchmarks); import it from there. */
export { FakeClock } from '../../testing/clocks.js';
