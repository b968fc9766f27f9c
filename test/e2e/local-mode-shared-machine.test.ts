import { chmod, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generatePolicyKey, type PolicyKey, writePolicyFile } from '../../local/policy.js';
import { captureError, registerSensitive } from '../../testing/leak-scan.js';
import {
  startTestLocalVendor,
  type TestLocalVendor,
  type TestLocalVendorOptions,
} from '../../testing/local-vendor.js';
import { createOtherUser, type OtherUser, secondUserSkipReason } from '../support/other-user.js';
import { rawExchange, signedHead } from '../support/raw-http.js';

/**
 * Issue 23, "nobody else's directory or file": the victim runs local mode, the attacker is another account
 * of the same machine. Whoever can write the data directory, the policy or the credentials file decides who
 * gets a token, so local mode refuses what another user owns or can write, at start and at every reload.
 */

const started: TestLocalVendor[] = [];
const madeDirs: string[] = [];
afterEach(async () => {
  for (const local of started.splice(0)) await local.stop();
  for (const dir of madeDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(options: TestLocalVendorOptions): Promise<TestLocalVendor> {
  const local = await startTestLocalVendor({ dataDirPrefix: 'mtv-shared-', ...options });
  started.push(local);
  return local;
}

/** A fresh directory under the shared temporary folder, removed after the test. */
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mtv-shared-'));
  madeDirs.push(dir);
  return dir;
}

/** A key the attacker would write into a policy file of theirs. */
const attackerKey = (): PolicyKey => {
  const key = { ...generatePolicyKey(), principalArn: 'arn:aws:iam::000000000000:user/attacker' };
  registerSensitive(key.secretAccessKey);
  return key;
};

const vendWith = async (local: TestLocalVendor, key: PolicyKey, clientId = 'demo-client') => {
  const port = Number(new URL(local.url).port);
  return rawExchange(
    port,
    await signedHead(key, { signedPath: `/tokens/${clientId}`, host: `127.0.0.1:${port}` }),
  );
};

describe('a data directory of your own', () => {
  it('refuses to start on a directory of yours that others may write, and says what to do', async () => {
    const dataDir = await scratch();
    await chmod(dataDir, 0o777);

    const error = await captureError(() => start({ dataDir }));

    expect(error.name).toBe('UntrustedPathError');
    expect(error.message).toContain(`data directory ${dataDir} is writable by other users (mode 0777)`);
    expect(error.message).toContain('run chmod go-w');
  });

  it('refuses to start when the credentials file may be written by the group', async () => {
    const dataDir = await scratch();
    await writeFile(join(dataDir, 'credentials.json'), '{"clients":[]}\n');
    await chmod(join(dataDir, 'credentials.json'), 0o660);

    const error = await captureError(() => start({ dataDir }));

    expect(error.message).toContain(
      `${join(dataDir, 'credentials.json')} in the data directory is writable by its group`,
    );
  });

  it('repairs a 0644 credentials file in your own 0755 directory reached through your own symbolic link', async () => {
    const target = await scratch();
    await chmod(target, 0o755);
    await writeFile(join(target, 'credentials.json'), '{"clients":[]}\n');
    await chmod(join(target, 'credentials.json'), 0o644);
    const link = join(await scratch(), 'data');
    await symlink(target, link);
    const events: string[] = [];

    await start({ dataDir: link, onEvent: (message) => events.push(message) });

    expect((await stat(join(target, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(target)).mode & 0o777).toBe(0o700);
    expect(events.some((e) => e.includes('credentials.json was readable by other users (mode 644)'))).toBe(
      true,
    );
  });
});

const TWO_USERS = 'another user of the machine';
describe.skipIf(secondUserSkipReason(TWO_USERS) !== undefined)(TWO_USERS, () => {
  let other: OtherUser;
  beforeAll(() => {
    other = createOtherUser();
  });
  afterAll(() => other?.remove());

  it('cannot hand you a data directory: one they created 0777 is refused', async () => {
    const dataDir = join(await scratch(), 'shared');
    await mkdir(dataDir, { mode: 0o777 });
    await chmod(dataDir, 0o777);
    await other.own(dataDir);

    const error = await captureError(() => start({ dataDir }));

    expect(error.message).toContain(`data directory ${dataDir} belongs to another user (uid ${other.uid}`);
  });

  it('cannot hand you a data directory through their symbolic link to a directory of theirs', async () => {
    const theirs = await scratch();
    await other.own(theirs);
    const link = join(await scratch(), 'data');
    await symlink(theirs, link);
    await other.own(link);

    const error = await captureError(() => start({ dataDir: link }));

    expect(error.message).toContain(
      `reached through the symbolic link ${link}, which belongs to another user`,
    );
  });

  it('cannot plant a policy file of theirs before the start', async () => {
    const dataDir = await scratch();
    await writePolicyFile(join(dataDir, 'policy.json'), { keys: [attackerKey()] });
    await other.own(join(dataDir, 'policy.json'));

    const error = await captureError(() => start({ dataDir }));

    expect(error.message).toContain(
      `${join(dataDir, 'policy.json')} in the data directory belongs to another user`,
    );
  });

  it('cannot swap in a policy file of theirs while local mode runs: every key is refused until it is yours again', async () => {
    const events: string[] = [];
    const local = await start({ onEvent: (message) => events.push(message) });
    const key = attackerKey();
    const replacement = join(local.paths.dataDir, 'replacement.json');
    await writePolicyFile(replacement, { keys: [key] });
    await other.own(replacement);
    await rename(replacement, local.paths.policy);

    const answer = await vendWith(local, key);

    expect(answer.status).toBe(403);
    expect(
      events.some((e) => e.includes('belongs to another user') && e.includes('every request is refused')),
    ).toBe(true);
  });

  it('cannot swap in a credentials file of theirs while local mode runs: its clients are not served', async () => {
    const local = await start({});
    const key = await local.generatedKey();
    const replacement = join(local.paths.dataDir, 'replacement.json');
    await writeFile(
      replacement,
      JSON.stringify({
        clients: [
          { clientId: 'planted', clientSecret: 'planted-secret-123', identityUrl: local.sim.identityUrl },
        ],
      }),
      { mode: 0o600 },
    );
    registerSensitive('planted-secret-123');
    local.sim.addClient({ clientId: 'planted', clientSecret: 'planted-secret-123' });
    await other.own(replacement);
    await rename(replacement, local.paths.credentials);

    const answer = await vendWith(local, key, 'planted');

    expect(answer.status).not.toBe(200);
    expect(local.sim.identityCalls('planted')).toBe(0);
  });
});
