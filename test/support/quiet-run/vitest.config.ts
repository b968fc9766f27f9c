/** The suite's own test settings (setup files, silent mode) over the two files of this folder only. */
import { defineConfig } from 'vitest/config';
import suite from '../../../vitest.config.js';

export default defineConfig({
  test: {
    ...suite.test,
    include: ['test/support/quiet-run/*.check.ts'],
    coverage: { enabled: false },
  },
});
