import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileCredentials,
  removeClient,
  upsertClient,
  writeCredentialsFile,
} from '../../functions/adapters/file-credentials.js';
import {
  CredentialsMisconfiguredError,
  InvalidRequestError,
  UnknownClientError,
} from '../../functions/core/errors.js';
import type { ClientCredentials } from '../../functions/core/ports.js';
import { registerSensitive, captureError as rejection } from '../../testing/leak-scan.js';

const SECRET = 'file-secret-do-not-leak';
registerSensitive(SECRET);
const credentials = (clientId: string, extra: Partial<ClientCredentials> = {}): ClientCredentials => ({
  clientId,
  clientSecret: `${SECRET}-${clientId}`,
  identityUrl: 'http://127.0.0.1:9/identity',
  ...extra,
});

describe('FileCredentials', () => {
  let dir: string;
  let path: string;
  let warnings: Record<string, unknown>[];
  let source: FileCredentials;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mtv-file-credentials-'));
    path = join(dir, 'credentials.json');
    warnings = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (message: string, attributes?: Record<string, unknown>) =>
        warnings.push({ message, ...attributes }),
      error: () => {},
    };
    source = new FileCredentials({ path, logger });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('reading', () => {
    it('returns the credentials of a client listed in the file', async () => {
      await writeCredentialsFile(path, {
        clients: [credentials('a', { instance: 'demo' }), credentials('b')],
      });

      // changedAt: the file's modification time, the last change of any registration in it.
      const changedAt = Math.floor((await stat(path)).mtimeMs);
      expect(await source.get('a')).toEqual({ ...credentials('a', { instance: 'demo' }), changedAt });
    });

    it('lists registered clients sorted, with their instance', async () => {
      await writeCredentialsFile(path, {
        clients: [credentials('b'), credentials('a', { instance: 'demo' })],
      });

      expect(await source.list()).toEqual([{ clientId: 'a', instance: 'demo' }, { clientId: 'b' }]);
    });

    it('throws UnknownClientError naming the file for a client that is not in it', async () => {
      await writeCredentialsFile(path, { clients: [credentials('a')] });

      const error = await rejection(() => source.get('zzz'));

      expect(error).toBeInstanceOf(UnknownClientError);
      expect(error.message).toBe(`no credentials registered for client "zzz" (not in ${path})`);
    });

    it('treats a missing file as no clients registered', async () => {
      const error = await rejection(() => source.get('a'));

      expect(error).toBeInstanceOf(UnknownClientError);
      expect(await source.list()).toEqual([]);
    });

    it('reports a file that is not JSON as misconfigured, naming the file', async () => {
      await writeFile(path, `{"clients": [ "${SECRET}`);

      const error = await rejection(() => source.get('a'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toBe(`credentials file ${path}: not valid JSON`);
    });
  });

  describe('reloading', () => {
    it('picks up a client added by an atomic rewrite without a restart', async () => {
      await writeCredentialsFile(path, { clients: [credentials('a')] });
      await source.get('a');

      await upsertClient(path, credentials('b'));

      expect((await source.get('b')).clientId).toBe('b');
    });

    it('picks up an in-place edit when the mtime changes', async () => {
      await writeFile(path, JSON.stringify({ clients: [credentials('a')] }));
      await source.get('a');
      await writeFile(path, JSON.stringify({ clients: [credentials('a', { clientSecret: 'rotated!' })] }));
      const later = new Date(Date.now() + 5_000);
      await utimes(path, later, later);

      expect((await source.get('a')).clientSecret).toBe('rotated!');
    });

    it('does not re-parse the file while it is unchanged', async () => {
      await writeCredentialsFile(path, { clients: [credentials('a')] });

      const first = await source.get('a');
      const second = await source.get('a');

      expect(second).toBe(first);
    });
  });

  describe('bad entries', () => {
    it('serves good clients next to a bad entry', async () => {
      const { identityUrl: _omitted, ...broken } = credentials('bad');
      await writeCredentialsFile(path, { clients: [credentials('good'), broken] });

      expect((await source.get('good')).clientId).toBe('good');
    });

    it('reports a bad entry only for its client, naming the file, the index and the field but no value', async () => {
      const { identityUrl: _omitted, ...broken } = credentials('bad');
      await writeCredentialsFile(path, { clients: [credentials('good'), broken] });

      const error = await rejection(() => source.get('bad'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toBe(
        `credentials file ${path} clients[1]: field "identityUrl" is missing or not a non-empty string`,
      );
    });

    it('logs bad entries by file and index without any secret', async () => {
      await writeCredentialsFile(path, {
        clients: [
          credentials('good'),
          { ...credentials('bad'), identityUrl: 'not a url' },
          { clientSecret: SECRET },
        ],
      });

      await source.get('good');

      expect(warnings.map((w) => w.entry)).toEqual([1, 2]);
      expect(JSON.stringify(warnings)).not.toContain(SECRET);
    });

    it('mentions entries without a valid clientId when an unknown client is asked for', async () => {
      await writeCredentialsFile(path, { clients: [credentials('good'), { clientSecret: SECRET }] });

      const error = await rejection(() => source.get('missing'));

      expect(error).toBeInstanceOf(UnknownClientError);
      expect(error.message).toContain('clients[1] has no valid clientId');
      expect(error.message).not.toContain(SECRET);
    });

    it('reports a client registered twice as misconfigured', async () => {
      await writeCredentialsFile(path, { clients: [credentials('twice'), credentials('twice')] });

      const error = await rejection(() => source.get('twice'));

      expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
      expect(error.message).toContain('clients[0] and clients[1]');
    });
  });

  describe('writing', () => {
    it('writes the file with mode 0600 and no temporary file left behind', async () => {
      await writeCredentialsFile(path, { clients: [credentials('a')] });

      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['credentials.json']);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ clients: [credentials('a')] });
    });

    it('upserts: creates a missing file, adds, then replaces a client in place', async () => {
      const created = await upsertClient(path, credentials('a'));
      await upsertClient(path, credentials('b'));
      const updated = await upsertClient(path, credentials('a', { instance: 'x' }));

      expect([created, updated]).toEqual(['created', 'updated']);
      expect(JSON.parse(await readFile(path, 'utf8')).clients).toEqual([
        credentials('a', { instance: 'x' }),
        credentials('b'),
      ]);
    });

    it("keeps a replaced entry's own fields (simulatedRole) but not record fields the update leaves out", async () => {
      const role = { permissions: ['Read-Only Lead'], apiUser: 'sync@example.test' };
      await writeCredentialsFile(path, {
        clients: [{ ...credentials('a', { restUrl: 'http://127.0.0.1:9' }), simulatedRole: role }],
      });

      await upsertClient(path, credentials('a', { instance: 'x' }));

      expect(JSON.parse(await readFile(path, 'utf8')).clients).toEqual([
        { simulatedRole: role, ...credentials('a', { instance: 'x' }) },
      ]);
    });

    it('keeps other entries, even bad ones, when upserting', async () => {
      await writeCredentialsFile(path, { clients: [{ note: 'operator scratch' }] });

      await upsertClient(path, credentials('a'));

      expect(JSON.parse(await readFile(path, 'utf8')).clients).toEqual([
        { note: 'operator scratch' },
        credentials('a'),
      ]);
    });

    it('refuses to upsert an invalid record', async () => {
      const badId = await rejection(() => upsertClient(path, credentials('no spaces allowed')));
      const badUrl = await rejection(() => upsertClient(path, credentials('a', { identityUrl: 'nope' })));

      expect(badId).toBeInstanceOf(InvalidRequestError);
      expect(badUrl).toBeInstanceOf(CredentialsMisconfiguredError);
    });

    it('removes a client and reports whether it was there', async () => {
      await writeCredentialsFile(path, { clients: [credentials('a'), credentials('b')] });

      const removed = await removeClient(path, 'a');
      const again = await removeClient(path, 'a');

      expect([removed, again]).toEqual([true, false]);
      expect(await source.list()).toEqual([{ clientId: 'b' }]);
    });
  });
});
