import {
  CredentialsMisconfiguredError,
  InvalidRequestError,
  isTokenVendorError,
} from '../functions/core/errors.js';

/** Exit codes of the CLI: scripts may rely on them. */
export const EXIT_OK = 0;
/** The operation was attempted and failed (Identity refused, secret missing, AWS error). */
export const EXIT_FAILED = 1;
/** The command line was wrong (unknown option, bad URL, missing --yes without a terminal). */
export const EXIT_USAGE = 2;

/** An error the CLI reports as one line (problem — fix) and maps to an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: typeof EXIT_FAILED | typeof EXIT_USAGE = EXIT_FAILED,
  ) {
    super(message);
  }
}

/** A wrong command line: exit code 2. */
export const usageError = (message: string): CliError => new CliError(message, EXIT_USAGE);

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'Error');

/**
 * Turns any error into the one line the operator sees, with the fix where we know it. AWS SDK errors are
 * named by their exception name plus the service's message (which never echoes secret values).
 */
export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof InvalidRequestError) return { message: error.message, exitCode: EXIT_USAGE };
  if (isTokenVendorError(error)) {
    const hint =
      error instanceof CredentialsMisconfiguredError
        ? ' — fix the registration with `clients add` (it validates the record before saving)'
        : '';
    return { message: `${error.code}: ${error.message}${hint}`, exitCode: EXIT_FAILED };
  }
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (/Region is missing/i.test(message)) {
    return { message: 'no AWS region — pass --region or set AWS_REGION', exitCode: EXIT_USAGE };
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return {
      message: `no AWS credentials (${message}) — pass --profile, set AWS_PROFILE, or run aws sso login`,
      exitCode: EXIT_FAILED,
    };
  }
  if (/ECONNREFUSED/.test(message) || (error as { code?: unknown }).code === 'ECONNREFUSED') {
    return {
      message: `connection refused (${message}) — check --endpoint-* / AWS_ENDPOINT_URL_* or that npm start is running`,
      exitCode: EXIT_FAILED,
    };
  }
  return { message: `${name}: ${message}`, exitCode: EXIT_FAILED };
}
