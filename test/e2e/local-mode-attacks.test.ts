import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../local/access-log.js';
import { startTestLocalVendor, type TestLocalVendor } from '../../testing/local-vendor.js';
import { type RawResponse, rawExchange, signedHead, signedHeaders } from '../support/raw-http.js';

/**
 * Issue 13: attacks a new user could try on 127.0.0.1, each of which worked before. Every request here is
 * written byte for byte on a socket, so nothing between the test and the server normalises the target.
 */

/**
 * May use every `team-a-*` client and `inst-*` pool: the replays below target a resource this key may
 * use, so only the refusal of the request target itself (not the policy) can stop them.
 */
const TEAM_KEY = {
  accessKeyId: 'TEAMKEY',
  secretAccessKey: 'team-local-secret-123',
  principalArn: 'arn:aws:iam::000000000000:role/team-a',
  clients: ['team-a-*'],
  instances: ['inst-*'],
};
const CLIENTS = [
  { clientId: 'team-a-1', clientSecret: 'team-a-one-marketo-secret', instance: 'inst-b' },
  { clientId: 'team-a-2', clientSecret: 'team-a-two-marketo-secret', instance: 'inst-a' },
];

/** A request whose signature covers `signedPath` but whose request line says `target`. */
async function replay(
  port: number,
  options: { method?: string; signedPath: string; target: string; host?: string; body?: string },
): Promise<RawResponse> {
  const head = await signedHead(TEAM_KEY, { ...options, host: options.host ?? `127.0.0.1:${port}` });
  return rawExchange(port, head, options.body ?? '');
}

describe('local mode refuses what API Gateway would not serve', () => {
  let local: TestLocalVendor;
  let port: number;
  const accessLog: AccessLogEntry[] = [];
  const events: string[] = [];

  beforeAll(async () => {
    local = await startTestLocalVendor({
      dataDirPrefix: 'mtv-attacks-',
      policy: { keys: [TEAM_KEY] },
      onRequest: (entry) => accessLog.push(entry),
      onEvent: (message) => events.push(message),
    });
    port = Number(new URL(local.url).port);
    for (const client of CLIENTS) await local.addClient(client);
  });

  afterAll(() => local?.stop());

  describe('what the signature covers is what is served', () => {
    it('serves the client the signature covers (control)', async () => {
      const answer = await replay(port, { signedPath: '/tokens/team-a-2', target: '/tokens/team-a-2' });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).clientId).toBe('team-a-2');
    });

    it('refuses a fragment that would route to another client with 400 InvalidRequest', async () => {
      const answer = await replay(port, {
        signedPath: '/tokens/team-a-2',
        target: '/tokens/team-a-1#/../team-a-2',
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('InvalidRequest');
      expect(local.simulator?.identityCalls('team-a-1')).toBe(0);
    });

    it('refuses percent-encoded dot-segments and empty segments in a pool path with 400', async () => {
      const answer = await replay(port, {
        signedPath: '/instances/inst-a/token',
        target: '/instances/inst-a/%2e%2e/inst-b//..//../token',
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('InvalidRequest');
    });

    it('refuses a fragment on invalidate that would route to another client with 400', async () => {
      const body = JSON.stringify({ accessToken: 'any-token' });
      const answer = await replay(port, {
        method: 'POST',
        signedPath: '/tokens/team-a-2/invalidate',
        target: '/tokens/team-a-1/invalidate#/../../team-a-2/invalidate',
        body,
      });
      expect(answer.status).toBe(400);
      expect(local.simulator?.identityCalls('team-a-1')).toBe(0);
    });

    it('refuses plain dot-segments with 400', async () => {
      const answer = await replay(port, {
        signedPath: '/tokens/team-a-2',
        target: '/tokens/team-a-1/../team-a-2',
      });
      expect(answer.status).toBe(400);
    });

    it('refuses an encoded slash in a path parameter with 400', async () => {
      const answer = await replay(port, {
        signedPath: '/tokens/team-a-2',
        target: '/tokens/team-a-2%2F..%2Fteam-a-1',
      });
      expect(answer.status).toBe(400);
    });
  });

  describe('the Host and Origin headers', () => {
    it('refuses a request signed for another host (DNS rebinding) with 403', async () => {
      const answer = await replay(port, {
        signedPath: '/tokens/team-a-2',
        target: '/tokens/team-a-2',
        host: `rebind.attacker.example:${port}`,
      });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('AccessDenied');
    });

    it('serves a request addressed to localhost:<port>', async () => {
      const answer = await replay(port, {
        signedPath: '/tokens/team-a-2',
        target: '/tokens/team-a-2',
        host: `localhost:${port}`,
      });
      expect(answer.status).toBe(200);
    });

    it('refuses a request that carries an Origin header with 403', async () => {
      const headers = await signedHeaders(TEAM_KEY, {
        method: 'GET',
        signedPath: '/tokens/team-a-2',
        host: `127.0.0.1:${port}`,
      });
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
      const answer = await rawExchange(
        port,
        `GET /tokens/team-a-2 HTTP/1.1\r\n${lines.join('\r\n')}\r\norigin: http://127.0.0.1:${port}\r\nconnection: close\r\n\r\n`,
      );
      expect(answer.status).toBe(403);
    });
  });

  /** A vend request whose (forged) signature lists `headerName` among its signed headers. */
  const withForgedSignedHeader = (headerName: string): string => {
    const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const authorization = `AWS4-HMAC-SHA256 Credential=${TEAM_KEY.accessKeyId}/${date.slice(0, 8)}/us-east-1/execute-api/aws4_request, SignedHeaders=${headerName};host;x-amz-date, Signature=${'0'.repeat(64)}`;
    return `GET /tokens/team-a-2 HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-amz-date: ${date}\r\nauthorization: ${authorization}\r\nconnection: close\r\n\r\n`;
  };

  describe('bad input costs a logged 4xx, never a 500', () => {
    it('answers malformed percent-encoding with 400 and logs it', async () => {
      const answer = await rawExchange(
        port,
        `GET /tokens/%ZZ HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`,
      );
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('InvalidRequest');
      expect(accessLog.some((e) => e.path === '/tokens/%ZZ' && e.status === 400)).toBe(true);
    });

    it('answers a signed header named constructor with 403 and logs it', async () => {
      const answer = await rawExchange(port, withForgedSignedHeader('constructor'));
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('AccessDenied');
      expect(accessLog.some((e) => e.path === '/tokens/team-a-2' && e.status === 403)).toBe(true);
    });

    it('answers a signed header named __proto__ with 403', async () => {
      const answer = await rawExchange(port, withForgedSignedHeader('__proto__'));
      expect(answer.status).toBe(403);
    });

    it('refuses a body announced larger than any valid request with 413 before reading it', async () => {
      const answer = await rawExchange(
        port,
        `POST /tokens/team-a-2/invalidate HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: 10485760\r\nconnection: close\r\n\r\n`,
      );
      expect(answer.status).toBe(413);
    });
  });

  describe('the policy file fails closed', () => {
    it('refuses every key once the policy file is deleted, and says so', async () => {
      const policyPath = local.paths.policy;
      const saved = await readFile(policyPath, 'utf8');
      try {
        await rm(policyPath);
        const answer = await replay(port, { signedPath: '/tokens/team-a-2', target: '/tokens/team-a-2' });
        expect(answer.status).toBe(403);
        expect(events.some((e) => e.includes('every request is refused'))).toBe(true);
      } finally {
        await writeFile(policyPath, saved, { mode: 0o600 });
      }
      const again = await replay(port, { signedPath: '/tokens/team-a-2', target: '/tokens/team-a-2' });
      expect(again.status).toBe(200);
    });

    it('refuses every key once the policy file is corrupt', async () => {
      const policyPath = local.paths.policy;
      const saved = await readFile(policyPath, 'utf8');
      try {
        await writeFile(policyPath, '{"keys": [', { mode: 0o600 });
        const answer = await replay(port, { signedPath: '/tokens/team-a-2', target: '/tokens/team-a-2' });
        expect(answer.status).toBe(403);
      } finally {
        await writeFile(policyPath, saved, { mode: 0o600 });
      }
    });
  });
});
