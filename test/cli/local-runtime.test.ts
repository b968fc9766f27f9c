import { type ChildProcess, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMarketoSimulator, type MarketoSimulator } from '../../local/marketo-simulator.js';
import { writeRuntimeInfo } from '../../local/runtime-info.js';
import { registerSensitive } from '../../testing/leak-scan.js';
import { createOtherUser, type OtherUser, secondUserSkipReason } from '../support/other-user.js';
import { cliRunner } from './helpers.js';

/**
 * Issue 23: after a crash `runtime.json` names a process id and a store port that may be anyone's by now,
 * and several `clients add` may run at once. The CLI sends nothing to a store it cannot prove is its own
 * user's, and no acknowledged registration is lost.
 */

const BIN = resolve(import.meta.dirname, '../../cli/bin.js');
const DYNALITE = resolve(import.meta.dirname, '../../node_modules/dynalite');
const execFileAsync = promisify(execFile);
const TWO_USERS = 'when another user now has the pid and the port';

describe('the --local CLI and runtime.json', () => {
  let simulator: MarketoSimulator;
  const secret = `runtime-secret-${randomUUID()}`;
  const dirs: string[] = [];
  const sensitive = () => [secret, ...simulator.issuedTokens()];

  beforeAll(async () => {
    registerSensitive(secret);
    simulator = createMarketoSimulator({ clients: [{ clientId: 'sync-a', clientSecret: secret }] });
    await simulator.start();
  });
  afterAll(async () => {
    registerSensitive(...simulator.issuedTokens());
    await simulator.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A data directory with sync-a registered, and the CLI bound to it. */
  async function registered() {
    const dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-runtime-'));
    dirs.push(dataDir);
    const cli = cliRunner(['--local', '--data-dir', dataDir, '--allow-loopback'], sensitive);
    const add = await cli(
      ['clients', 'add', 'sync-a', '--identity-url', simulator.identityUrl, '--secret-stdin'],
      {
        stdin: secret,
      },
    );
    expect(add.code).toBe(0);
    return { dataDir, cli };
  }

  /** A stale runtime.json: `pid` and a store at `port` that are not the vendor's any more. */
  const staleRuntime = (dataDir: string, pid: number, port: number, storeSocket?: string) =>
    writeRuntimeInfo(dataDir, {
      pid,
      dynamoEndpoint: `http://127.0.0.1:${port}`,
      ...(storeSocket === undefined ? {} : { storeSocket }),
      dynamoCredentials: { accessKeyId: 'STOREKEY', secretAccessKey: 'store-secret-from-the-file' },
      tableName: 'marketo-token-vendor-local',
      credentialsFile: join(dataDir, 'credentials.json'),
      apiUrl: 'http://127.0.0.1:1',
    });

  describe('a live process of yours whose store the CLI cannot authenticate', () => {
    let listener: Server;
    let received: Buffer[];
    beforeAll(async () => {
      received = [];
      listener = createServer((socket) => socket.on('data', (chunk) => received.push(chunk)));
      await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done));
    });
    afterAll(() => new Promise<void>((done) => listener.close(() => done())));
    afterEach(() => {
      received.length = 0;
    });
    const port = () => (listener.address() as { port: number }).port;

    it('is refused, and nothing is sent, when runtime.json names no store socket', async () => {
      const { dataDir, cli } = await registered();
      await staleRuntime(dataDir, process.pid, port());

      const run = await cli(['clients', 'refresh', 'sync-a', '--force']);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('names no store socket to reach it by: nothing was sent to it');
      expect(run.stderr).toContain(`delete ${join(dataDir, 'runtime.json')}`);
      expect(received).toEqual([]);
    });

    it('is refused when its store socket is not in a private directory of yours', async () => {
      const { dataDir, cli } = await registered();
      await staleRuntime(dataDir, process.pid, port(), join(tmpdir(), 'dynalite.sock'));

      const run = await cli(['clients', 'refresh', 'sync-a', '--force']);

      expect(run.code).toBe(1);
      expect(run.stderr).toContain('nothing was sent to it');
      expect(received).toEqual([]);
    });
  });

  it('loses no registration when eight `clients add` run at once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mtv-cli-concurrent-'));
    dirs.push(dataDir);
    const ids = Array.from({ length: 8 }, (_, i) => `parallel-${i}`);

    const runs = await Promise.all(
      ids.map((clientId) => {
        const child = execFileAsync(
          process.execPath,
          [
            BIN,
            '--local',
            '--data-dir',
            dataDir,
            'clients',
            'add',
            clientId,
            '--identity-url',
            'http://127.0.0.1:1/identity',
          ].concat(['--allow-loopback', '--no-verify', '--secret-stdin']),
          { env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
        );
        child.child.stdin?.end(secret);
        return child;
      }),
    );

    expect(runs.map((run) => run.stdout.includes('created client'))).toEqual(ids.map(() => true));
    const saved = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as {
      clients: Array<{ clientId: string }>;
    };
    expect(saved.clients.map((c) => c.clientId).sort()).toEqual(ids);
  });

  describe.skipIf(secondUserSkipReason(TWO_USERS) !== undefined)(TWO_USERS, () => {
    /** Another account runs a store of its own (dynalite) that records every request body it is sent. */
    async function startAttackerStore(other: OtherUser) {
      const seen: Buffer[] = [];
      const attacker = other.spawn(process.execPath, [
        '-e',
        `const server = require(process.argv[1])({});
         server.prependListener('request', (req) => req.on('data', (chunk) => process.stdout.write(chunk)));
         server.listen(0, '127.0.0.1', () => process.stderr.write('PORT ' + server.address().port + '\\n'));`,
        DYNALITE,
      ]);
      attacker.stdout?.on('data', (chunk: Buffer) => seen.push(chunk));
      const port = await new Promise<number>((found, failed) => {
        attacker.stderr?.on('data', (chunk: Buffer) => {
          const match = /PORT (\d+)/.exec(String(chunk));
          if (match) found(Number(match[1]));
        });
        attacker.once('exit', (code) => failed(new Error(`the other user's store exited (${code})`)));
      });
      return { attacker, port, seen };
    }

    it('gets no token from `clients refresh`: the stale pid is not yours, so the CLI opens the store itself', async () => {
      const other = createOtherUser();
      let attacker: ChildProcess | undefined;
      try {
        const store = await startAttackerStore(other);
        attacker = store.attacker;
        const { dataDir, cli } = await registered();
        await staleRuntime(dataDir, attacker.pid as number, store.port);

        const run = await cli(['clients', 'refresh', 'sync-a', '--force']);

        expect(run.code).toBe(0);
        const token = simulator.currentToken('sync-a')?.accessToken as string;
        expect(token).toBeDefined();
        expect(Buffer.concat(store.seen).toString('utf8')).not.toContain(token);
        expect(store.seen).toEqual([]);
      } finally {
        attacker?.kill();
        other.remove();
      }
    });
  });
});
