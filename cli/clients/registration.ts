/** A client's registration as `clients status`, `list` and `refresh` read it for display. */
import { CredentialsMisconfiguredError, UnknownClientError } from '../../functions/core/errors.js';
import { CliError } from '../errors.js';
import type { Target } from '../target.js';

/** What is shown of a registration: instance and identity URL, or why it is unreadable. */
export interface RegistrationView {
  readonly instance?: string;
  readonly identityUrl?: string;
  readonly error?: string;
}

/** Reads a registration for display; `undefined` when there is none. */
export async function readRegistration(
  target: Target,
  clientId: string,
): Promise<RegistrationView | undefined> {
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

/** The error for a client with neither a registration nor a cached token. */
export const notRegistered = (target: Target, clientId: string): CliError =>
  new CliError(`${target.registry.whereIs(clientId)} not found — run clients add ${clientId}`);
