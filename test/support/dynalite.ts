/** Moved to testing/ (shared by the tests and the benchmarks); import it from there. */
export * from '../../testing/dynalite.js';
