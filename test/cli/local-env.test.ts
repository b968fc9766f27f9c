import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/index.js';
import { addLocalCommand } from '../../cli/local-env.js';
import { createTokenClient } from '../../client/index.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { memoryIo } from './helpers.js';

/** Parses `export NAME='value'` lines as a POSIX shell would. */
const parseExports = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((line) => {
        const match = /^export ([A-Z_]+)='(.*)'$/.exec(line);
        if (!match) throw new Error(`not an export line: ${line}`);
        return [match[1] as string, (match[2] as string).replaceAll("'\\''", "'")];
      }),
  );

const cli = async (args: readonly string[], env: Record<string, string | undefined> = {}) => {
  const memory = memoryIo();
  const code = await runCli(args, memory.io, env, [addLocalCommand]);
  return { code, stdout: memory.stdout(), stderr: memory.stderr() };
};

describe('local env and local exec (what a job needs to use a running local mode)', () => {
  let local: TestLocalVendor;

  beforeAll(async () => {
    local = await startTestLocalVendor({ dataDirPrefix: 'mtv-local-env-' });
  });
  afterAll(() => local?.stop());

  it('prints the endpoint, region, generated key, demo client and REST base as shell exports', async () => {
    const run = await cli(['local', 'env', '--data-dir', local.paths.dataDir]);
    const key = await local.generatedKey();

    expect(run.code).toBe(0);
    expect(parseExports(run.stdout)).toEqual({
      TOKEN_VENDOR_ENDPOINT: local.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      MARKETO_CLIENT_ID: 'demo-client',
      MARKETO_REST_URL: local.sim.restUrl,
    });
  });

  it('prints what a client signed with those values gets a token with', async () => {
    const env = parseExports((await cli(['local', 'env', '--data-dir', local.paths.dataDir])).stdout);
    const tokens = createTokenClient({
      endpoint: env.TOKEN_VENDOR_ENDPOINT as string,
      region: env.AWS_REGION as string,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });

    const response = await tokens.marketoFetch(
      env.MARKETO_CLIENT_ID as string,
      `${env.MARKETO_REST_URL}/rest/v1/leads.json?filterType=id&filterValues=1`,
    );
    await tokens.close();

    expect(((await response.json()) as { result: unknown[] }).result).toHaveLength(1);
  });

  it('prints the same as JSON with --json', async () => {
    const run = await cli(['local', 'env', '--json', '--data-dir', local.paths.dataDir]);

    expect(JSON.parse(run.stdout)).toMatchObject({
      TOKEN_VENDOR_ENDPOINT: local.url,
      AWS_REGION: 'us-east-1',
    });
  });

  it('says how to start local mode when none runs on the data directory (exit 1)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'mtv-local-env-none-'));
    try {
      const run = await cli(['local', 'env', '--data-dir', empty]);

      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: local mode is not running on ${empty} — start it with npm start (or pass the --data-dir it uses)\n`,
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  /** `local exec -- node -e <script>` on the test's local mode. */
  const execNode = (script: string, env: Record<string, string | undefined> = {}) =>
    cli(['--data-dir', local.paths.dataDir, 'local', 'exec', '--', process.execPath, '-e', script], env);

  it('runs a command with those variables, without a session token or profile of another key', async () => {
    const run = await execNode(
      'const e = process.env; console.log(JSON.stringify([e.TOKEN_VENDOR_ENDPOINT, e.AWS_SESSION_TOKEN, e.AWS_PROFILE, e.KEEP]))',
      { AWS_SESSION_TOKEN: 'of-another-key', AWS_PROFILE: 'prod', KEEP: 'kept', PATH: process.env.PATH },
    );

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([local.url, null, null, 'kept']);
  });

  it("exits with the command's exit code", async () => {
    const run = await execNode('process.exit(3)');

    expect(run.code).toBe(3);
  });
});
