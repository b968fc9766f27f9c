/** The suite's own test settings (setup files, silent mode) over the two files of this folder only. */
import { defineConfig } from 'vitest/config';
import suite from '../../../vitest.config.js';

const { projects: _suiteProjects, ...settings } = suite.test ?? {};

export default defineConfig({
  test: {
    ...settings,
    include: ['test/support/quiet-run/*.check.ts'],
    coverage: { enabled: false },
  },
});
