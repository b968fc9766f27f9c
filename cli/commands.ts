import { hostname } from 'node:os';
import { Presets, SingleBar } from 'cli-progress';
import pLimit from 'p-limit';
import {
  DEFAULT_IDENTITY_HOSTS,
  ENV,
  LOOPBACK_HOSTS,
  ROTATION_GUARD_MS,
} from '../functions/contract/index.js';
import {
  assertIdentityUrlAllowed,
  assertValidClientId,
  assertValidInstance,
  type IdentityUrlPolicy,
  parseCredentialsRecord,
} from '../functions/core/credentials.js';
import {
  CredentialsMisconfiguredError,
  CredentialsRejectedError,
  isTokenVendorError,
  UnknownClientError,
} from '../functions/core/errors.js';
import { fingerprint } from '../functions/core/fingerprint.js';
import type { ClientCredentials, TokenStore } from '../functions/core/ports.js';
import type { TokenVendor } from '../functions/core/token-vendor-api.js';
import { wireVendor } from '../functions/wiring.js';
import { CliError, describeError, usageError } from './errors.js';
import { type CliIo, confirm, promptSecret, readSecretFromStdin } from './io.js';
import {
  type ClientView,
  clientView,
  formatDuration,
  renderList,
  renderStatus,
  withSharedApiUsers,
} from './status.js';
import type { Target } from './target.js';

/** Identity answers within a second or two; a verify or refresh that takes longer is reported, not waited on. */
const IDENTITY_TIMEOUT_MS = 10_000;

/** Identity URL policy options shared by `add` (validation) and `refresh` (the core checks again). */
export interface PolicyOptions {
  readonly allowHost?: readonly string[];
  readonly allowLoopback?: boolean;
}

/** The allowlist: IDENTITY_ALLOWED_HOSTS (as the Lambdas read it) or Marketo's hosts, plus `--allow-host`. */
export function identityPolicy(
  options: PolicyOptions,
  env: Readonly<Record<string, string | undefined>>,
): IdentityUrlPolicy {
  const fromEnv = (env[ENV.identityAllowedHosts] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  const base = fromEnv.length > 0 ? fromEnv : DEFAULT_IDENTITY_HOSTS;
  return {
    allowedHosts: [...base, ...(options.allowHost ?? []), ...(options.allowLoopback ? LOOPBACK_HOSTS : [])],
    allowInsecureLoopback: options.allowLoopback === true,
  };
}

const write = (io: CliIo, text: string): void => {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** Validates a URL option against the policy; a refusal is a usage error naming the flag that fixes it. */
export function checkUrl(url: string, flag: string, policy: IdentityUrlPolicy): void {
  try {
    assertIdentityUrlAllowed(url, policy, flag);
  } catch (error) {
    if (!(error instanceof CredentialsMisconfiguredError)) throw error;
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    const loopback = parsed !== undefined && LOOPBACK_HOSTS.includes(parsed.hostname);
    const fix =
      parsed === undefined
        ? 'give a full URL such as https://123-ABC-456.mktorest.com/identity'
        : loopback
          ? 'add --allow-loopback to use a local simulator (never for production)'
          : parsed.protocol !== 'https:'
            ? 'use the https URL from Admin > Web Services'
            : `copy the URL from Admin > Web Services, or add --allow-host ${parsed.hostname} if this really is a Marketo Identity endpoint`;
    throw usageError(`${error.message} — ${fix}`);
  }
}

/** `clients add` options. */
export interface AddOptions extends PolicyOptions {
  readonly identityUrl: string;
  readonly restUrl?: string;
  readonly instance?: string;
  readonly secretStdin?: boolean;
  readonly verify: boolean;
  readonly kmsKeyId?: string;
}

/** Registers or updates a client: validate, read the secret, verify with Identity once, then save. */
export async function addClient(
  target: Target,
  io: CliIo,
  clientId: string,
  options: AddOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  assertValidClientId(clientId);
  if (options.instance !== undefined) assertValidInstance(options.instance);
  const policy = identityPolicy(options, env);
  checkUrl(options.identityUrl, '--identity-url', policy);
  // The REST endpoint lives on the same Marketo host family as Identity.
  if (options.restUrl !== undefined) checkUrl(options.restUrl, '--rest-url', policy);

  const clientSecret = options.secretStdin
    ? await readSecretFromStdin(io.stdin)
    : await promptSecret(io, `Client secret for ${clientId} (input hidden): `);
  const record: ClientCredentials = parseCredentialsRecord(
    {
      clientId,
      clientSecret,
      identityUrl: options.identityUrl,
      ...(options.restUrl === undefined ? {} : { restUrl: options.restUrl }),
      ...(options.instance === undefined ? {} : { instance: options.instance }),
    },
    clientId,
    'the new registration',
  );

  if (options.verify) {
    try {
      const token = await target.identity.fetchToken(record, { timeoutMs: IDENTITY_TIMEOUT_MS });
      write(
        io,
        `verified: Identity issued token ${fingerprint(token.accessToken)} (expires in ${formatDuration(token.expiresInSeconds)}${token.scope ? `, API user ${token.scope}` : ''})`,
      );
    } catch (error) {
      if (error instanceof CredentialsRejectedError) {
        throw new CliError(
          `${error.message} — check the Client Id and Client Secret (Admin > LaunchPoint > View Details) and run clients add again; nothing was saved`,
        );
      }
      const { message } = describeError(error);
      throw new CliError(
        `could not verify the credentials: ${message} — check --identity-url, or pass --no-verify to save without checking; nothing was saved`,
      );
    }
  }

  const outcome = await target.registry.save(
    record,
    options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId },
  );
  write(
    io,
    `${outcome} ${target.registry.whereIs(clientId)}${record.instance ? ` (instance ${record.instance})` : ''}`,
  );
  if (outcome === 'updated' && target.mode === 'aws') {
    write(
      io,
      'note: warm vend functions re-read a changed secret within 60 s, or at once if Identity rejects the old one',
    );
  }
}

/** A registration read for display: instance and identity URL, or why it is unreadable. */
async function readRegistration(
  target: Target,
  clientId: string,
): Promise<{ instance?: string; identityUrl?: string; error?: string } | undefined> {
  try {
    const creds = await target.registry.credentials.get(clientId, { bypassCache: true });
    return {
      identityUrl: creds.identityUrl,
      ...(creds.instance === undefined ? {} : { instance: creds.instance }),
    };
  } catch (error) {
    if (error instanceof UnknownClientError) return undefined;
    if (error instanceof CredentialsMisconfiguredError) return { error: error.message };
    throw error;
  }
}

export const notRegistered = (target: Target, clientId: string): CliError =>
  new CliError(`${target.registry.whereIs(clientId)} not found — run clients add ${clientId}`);

/** `clients list`: every registered client plus orphaned token items, as a table or JSON. */
export async function listClients(
  target: Target,
  io: CliIo,
  options: { readonly json?: boolean },
): Promise<void> {
  const registered = await target.registry.credentials.list();
  const store = await target.store();
  const records = new Map<string, Awaited<ReturnType<TokenStore['get']>>>();
  for await (const record of store.list()) records.set(record.clientId, record);
  const limit = pLimit(8);
  const now = Date.now();
  const views: ClientView[] = await Promise.all(
    registered.map(({ clientId, instance }) =>
      limit(async () => {
        const registration = (await readRegistration(target, clientId)) ?? {
          error: 'registration disappeared',
        };
        return clientView(
          clientId,
          { ...(instance === undefined ? {} : { instance }), ...registration },
          records.get(clientId),
          now,
        );
      }),
    ),
  );
  const known = new Set(registered.map((c) => c.clientId));
  for (const [clientId, record] of records) {
    if (!known.has(clientId)) views.push(clientView(clientId, undefined, record, now));
  }
  views.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  const shown = withSharedApiUsers(views);
  if (options.json) {
    write(io, JSON.stringify(shown, null, 2));
    return;
  }
  if (views.length === 0) {
    write(
      io,
      `no clients registered (${target.registry.description}) — add one with: clients add <clientId> --identity-url https://<munchkin>.mktorest.com/identity`,
    );
    return;
  }
  io.stdout.write(renderList(shown));
}

/** `clients status <clientId>`: one client in detail, token as fingerprint only. */
export async function showStatus(
  target: Target,
  io: CliIo,
  clientId: string,
  options: { readonly json?: boolean },
): Promise<void> {
  assertValidClientId(clientId);
  const registration = await readRegistration(target, clientId);
  const store = await target.store();
  const record = await store.get(clientId);
  if (registration === undefined && record === undefined) throw notRegistered(target, clientId);
  const now = Date.now();
  const others: Array<{ clientId: string; apiUser?: string }> = [];
  if (record?.token?.scope !== undefined) {
    for await (const other of store.list()) {
      if (other.token?.scope !== undefined)
        others.push({ clientId: other.clientId, apiUser: other.token.scope });
    }
  }
  const [view] = withSharedApiUsers([clientView(clientId, registration, record, now)], others);
  if (options.json) write(io, JSON.stringify(view, null, 2));
  else io.stdout.write(renderStatus(view, now));
}

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

/** The Lambdas' token engine on the target's store, credentials and Identity client (`refresh`, `check`). */
export function cliVendor(
  target: Target,
  store: TokenStore,
  policy: IdentityUrlPolicy,
  maxWaitMs: number,
): TokenVendor {
  return wireVendor({
    store,
    credentials: target.registry.credentials,
    identity: target.identity,
    instanceId: `cli-${hostname()}-${process.pid}`,
    config: {
      identityUrlPolicy: policy,
      identityTimeoutMs: IDENTITY_TIMEOUT_MS,
      defaultMaxWaitMs: maxWaitMs,
    },
  });
}

async function refreshOne(
  vendor: TokenVendor,
  store: TokenStore,
  clientId: string,
  options: RefreshOptions,
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
    return { clientId, outcome: 'failed', line: `${clientId}: failed: ${code}: ${message}` };
  }
}

/** `clients refresh <clientId>|--all` through the same core code as the Lambdas. Returns the exit code. */
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
  const vendor = cliVendor(target, store, identityPolicy(options, env), options.maxWait * 1000);

  if (clientId !== undefined) {
    if ((await readRegistration(target, clientId)) === undefined) throw notRegistered(target, clientId);
    const result = await refreshOne(vendor, store, clientId, options);
    (result.outcome === 'failed' ? io.stderr : io.stdout).write(`${result.line}\n`);
    return result.outcome === 'failed' ? 1 : 0;
  }

  const clients = await target.registry.credentials.list();
  if (clients.length === 0) {
    write(io, `no clients registered (${target.registry.description}) — nothing to refresh`);
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
        const result = await refreshOne(vendor, store, c.clientId, options);
        bar.increment(1, { clientId: c.clientId });
        return result;
      }),
    ),
  );
  bar.stop();
  const count = (outcome: RefreshResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  for (const result of results.filter((r) => r.outcome !== 'failed')) write(io, result.line);
  const failed = results.filter((r) => r.outcome === 'failed');
  write(
    io,
    `${results.length} clients: ${count('fetched')} fetched, ${count('unchanged')} still valid (same token until expiry), ` +
      `${count('reconfirmed')} re-confirmed by Identity, ${failed.length} failed`,
  );
  for (const result of failed) io.stderr.write(`${result.line}\n`);
  return failed.length > 0 ? 1 : 0;
}

/** `clients remove` options. */
export interface RemoveOptions {
  readonly yes?: boolean;
  readonly recoveryWindowDays: number;
  readonly forceDeleteWithoutRecovery?: boolean;
}

/** `clients remove`: deletes the registration (recoverable by default) and the cached token item. */
export async function removeClientCommand(
  target: Target,
  io: CliIo,
  clientId: string,
  options: RemoveOptions,
): Promise<void> {
  assertValidClientId(clientId);
  const force = options.forceDeleteWithoutRecovery === true;
  if (!options.yes) {
    const how =
      target.mode === 'local'
        ? ''
        : force
          ? ' WITHOUT recovery'
          : ` (recoverable for ${options.recoveryWindowDays} days)`;
    const ok = await confirm(
      io,
      `Remove client ${clientId}? This deletes ${target.registry.whereIs(clientId)}${how} and its cached token. [y/N] `,
    );
    if (!ok) throw new CliError('aborted: nothing was removed');
  }
  const store = await target.store();
  const record = await store.get(clientId);
  const removed = await target.registry.remove(clientId, {
    recoveryWindowDays: options.recoveryWindowDays,
    forceDeleteWithoutRecovery: force,
  });
  if (record !== undefined) await store.delete(clientId);
  if (removed === undefined && record === undefined) {
    throw new CliError(
      `${target.registry.whereIs(clientId)} not found — nothing to remove (see clients list)`,
    );
  }
  write(
    io,
    removed === undefined ? `${target.registry.whereIs(clientId)} was not registered` : removed.detail,
  );
  if (record?.token !== undefined) {
    const expiresAt = new Date(record.token.expiresAt).toISOString();
    write(
      io,
      `cached token ${fingerprint(record.token.accessToken)} removed from the store; warm vend functions may serve it ` +
        `from memory until it expires (${expiresAt}) — delete the Custom Service in Marketo to cut access at once`,
    );
  } else if (record !== undefined) {
    write(io, 'cached token item removed from the store');
  }
}
