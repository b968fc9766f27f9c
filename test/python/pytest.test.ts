import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { captureText } from '../../testing/leak-scan.js';
import { announce } from '../support/announce.js';

const run = promisify(execFile);
const PYTHON_DIR = resolve(import.meta.dirname, '../../python');

/**
 * The Python client's pytest suite (python/tests: unit tests on a scripted transport, tests against local
 * mode that start and stop it themselves, `pip install ./python`) as part of `npm test`. Its output goes to
 * the leak scan. On a machine without python3, botocore or pytest the suite is skipped with the reason
 * printed; under CI=true it fails instead.
 */
const probe = spawnSync('python3', ['-c', 'import botocore, pytest'], { encoding: 'utf8' });
const missing =
  probe.error !== undefined
    ? 'python3 is not installed'
    : probe.status !== 0
      ? `python3 lacks botocore or pytest (${probe.stderr.trim().split('\n').at(-1) ?? ''})`
      : undefined;
if (missing) {
  if (process.env.CI === 'true') throw new Error(`${missing} (required under CI=true)`);
  announce(`skipping the Python client's tests: ${missing}`);
}

describe.skipIf(missing !== undefined)('the Python client (python/tests)', () => {
  it('passes its pytest suite', async () => {
    const outcome = await run('python3', ['-m', 'pytest', '-q', '-rfEs'], {
      cwd: PYTHON_DIR,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? 1,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    captureText(outcome.output);
    const summary = outcome.output.trim().split('\n').at(-1) ?? '';
    announce(`pytest python/tests: ${summary}`);

    expect(outcome.code, outcome.output.slice(-6000)).toBe(0);
    // A skip inside pytest (no node for local mode, no index for pip) is a skip with its reason printed.
    expect(summary).toMatch(/^\d+ passed/);
    // Real work (local mode's start, a 7 s token expiry, a pip install): about 30 s idle, 60 s on a busy machine;
    // the bound only stops a hang.
  }, 600_000);
});
