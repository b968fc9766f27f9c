/** `clients add`: registers or updates a Marketo Custom Service. */

import { CredentialsRejectedError } from '../../functions/core/errors.js';
import { fingerprint } from '../../functions/core/fingerprint.js';
import {
  assertValidClientId,
  assertValidInstance,
  parseCredentialsRecord,
} from '../../functions/core/index.js';
import type { ClientCredentials } from '../../functions/core/ports.js';
import { formatDuration } from '../client-view.js';
import { CliError, describeError } from '../errors.js';
import { type CliIo, promptSecret, readSecretFromStdin, writeLine } from '../io.js';
import type { Target } from '../target.js';
import { checkUrl, IDENTITY_TIMEOUT_MS, identityPolicy, type PolicyOptions } from './identity-policy.js';

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
      writeLine(
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
  writeLine(
    io,
    `${outcome} ${target.registry.whereIs(clientId)}${record.instance ? ` (instance ${record.instance})` : ''}`,
  );
  if (outcome === 'updated' && target.mode === 'aws') {
    writeLine(
      io,
      'note: warm vend functions re-read a changed secret within 60 s, or at once if Identity rejects the old one',
    );
  }
}
