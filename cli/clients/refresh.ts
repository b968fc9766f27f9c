/** `clients refresh <clientId>|--all`: fetches missing or expired tokens through the same core code as the Lambdas. */
import { Presets, SingleBar } from 'cli-progress';
import pLimit from 'p-limit';
import { ROTATION_GUARD_MS } from '../../functions/contract/index.js';
import { CredentialsMisconfiguredError, isTokenVendorError } from '../../functions/core/errors.js';
import { fingerprint } from '../../functions/core/fingerprint.js';
import { assertValidClientId } from '../../functions/core/ids.js';
import type { TokenStore } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';
import { formatDuration } from '../client-view.js';
import { describeError, usageError } from '../errors.js';
import { type CliIo, writeLine } from '../io.js';
import type { Target } from '../target.js';
import { cliVendor, identityPolicy, type PolicyOptions, refusedUrlFix } from './identity-policy.js';
import { notRegistered, readRegistration } from './registration.js';

/** What one refresh did. */
export interface RefreshResult {
  readonly clientId: string;
  readonly outcome: 'fetched' | 'unchanged' | 'reconfirmed' | 'failed';
  readonly line: string;
}

/** `clients refresh` options. */
export interface RefreshOptions extends PolicyOptions {
  readonly all?: boolean;
  readonly force?: boolean;
  readonly concurrency: number;
  readonly maxWait: number;
}

async function refreshOne(
  vendor: TokenVendor,
  store: TokenStore,
  clientId: string,
  options: RefreshOptions,
  /** The flag or URL that fixes a client's Identity URL the policy refuses (as `clients add` says it). */
  urlFix: (clientId: string) => Promise<string | undefined>,
): Promise<RefreshResult> {
  const vendOptions = { minValiditySeconds: 0, maxWaitMs: options.maxWait * 1000 };
  try {
    const before = (await store.get(clientId))?.token;
    // Within the core's rotation guard a token is never handed out: `--force` waits it out instead.
    const live = before !== undefined && before.expiresAt - Date.now() > ROTATION_GUARD_MS;
    const token =
      options.force && live
        ? await vendor.invalidate(clientId, before.accessToken, vendOptions)
        : await vendor.getToken(clientId, vendOptions);
    const fp = fingerprint(token.accessToken);
    const expiry = `expires in ${formatDuration(token.expiresInSeconds)} (${new Date(token.expiresAt).toISOString()})`;
    const same = live && token.accessToken === before.accessToken;
    if (!same)
      return { clientId, outcome: 'fetched', line: `${clientId}: fetched new token ${fp}, ${expiry}` };
    if (options.force) {
      return {
        clientId,
        outcome: 'reconfirmed',
        line:
          `${clientId}: asked Identity again (--force); it returned the same token ${fp}, ${expiry}. ` +
          'Marketo issues a new token only after the current one expires, so a forced refresh of a valid token returns it unchanged',
      };
    }
    return {
      clientId,
      outcome: 'unchanged',
      line:
        `${clientId}: token ${fp} is still valid, ${expiry}; nothing to refresh: Marketo returns the same token until ` +
        'it expires and the scheduled refresher fetches its successor then (--force asks Identity anyway)',
    };
  } catch (error) {
    const code = isTokenVendorError(error) ? error.code : 'Error';
    const message = isTokenVendorError(error) ? error.message : describeError(error).message;
    const fix = error instanceof CredentialsMisconfiguredError ? await urlFix(clientId) : undefined;
    return {
      clientId,
      outcome: 'failed',
      line: `${clientId}: failed: ${code}: ${message}${fix === undefined ? '' : ` — ${fix}`}`,
    };
  }
}

/** Refreshes one client or all of them; resolves with the exit code. */
export async function refreshClients(
  target: Target,
  io: CliIo,
  clientId: string | undefined,
  options: RefreshOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  if ((clientId === undefined) === (options.all !== true)) {
    throw usageError('name one client or pass --all (not both) — e.g. clients refresh my-client');
  }
  if (clientId !== undefined) assertValidClientId(clientId);
  const store = await target.store();
  const policy = identityPolicy(options, env);
  const urlFix = async (id: string): Promise<string | undefined> => {
    const url = (await readRegistration(target, id).catch(() => undefined))?.identityUrl;
    return url === undefined ? undefined : refusedUrlFix(url, policy);
  };
  const vendor = cliVendor(target, store, policy, options.maxWait * 1000);

  if (clientId !== undefined) {
    if ((await readRegistration(target, clientId)) === undefined) throw notRegistered(target, clientId);
    const result = await refreshOne(vendor, store, clientId, options, urlFix);
    (result.outcome === 'failed' ? io.stderr : io.stdout).write(`${result.line}\n`);
    return result.outcome === 'failed' ? 1 : 0;
  }

  const clients = await target.registry.credentials.list();
  if (clients.length === 0) {
    writeLine(io, `no clients registered (${target.registry.description}) — nothing to refresh`);
    return 0;
  }
  const bar = new SingleBar(
    {
      stream: io.stderr,
      format: 'refreshing |{bar}| {value}/{total} {clientId}',
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  bar.start(clients.length, 0, { clientId: '' });
  const limit = pLimit(options.concurrency);
  const results = await Promise.all(
    clients.map((c) =>
      limit(async () => {
        const result = await refreshOne(vendor, store, c.clientId, options, urlFix);
        bar.increment(1, { clientId: c.clientId });
        return result;
      }),
    ),
  );
  bar.stop();
  const count = (outcome: RefreshResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  for (const result of results.filter((r) => r.outcome !== 'failed')) writeLine(io, result.line);
  const failed = results.filter((r) => r.outcome === 'failed');
  writeLine(
    io,
    `${results.length} clients: ${count('fetched')} fetched, ${count('unchanged')} still valid (same token until expiry), ` +
      `${count('reconfirmed')} re-confirmed by Identity, ${failed.length} failed`,
  );
  for (const result of failed) io.stderr.write(`${result.line}\n`);
  return failed.length > 0 ? 1 : 0;
}
