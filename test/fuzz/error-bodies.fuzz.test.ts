/**
 * Property-based check of the caller's view of failures (issue 12): whatever an adapter writes into an
 * error message for operators, the API body and a direct invoke's error name no file path, ARN, URL, IP
 * address or named host. Seeded and reproducible: `FUZZ_SEED=<n> npx vitest run test/fuzz`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CredentialsMisconfiguredError,
  CredentialsRejectedError,
  CredentialsUnavailableError,
  IdentityBadResponseError,
  IdentityUnavailableError,
  StoreUnavailableError,
  UnknownClientError,
} from '../../functions/core/errors.js';
import { errorResponse } from '../../functions/http/error-response.js';
import { DirectInvokeError, publicError } from '../../functions/http/public-error.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const RUNS = Number(process.env.FUZZ_ERROR_RUNS ?? 3_000);

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
const octet = fc.integer({ min: 0, max: 255 });

/** Internals as adapters and the SDK write them, each with a marker that must not reach the caller. */
const internal = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}/credentials.json`),
  fc
    .tuple(label, fc.integer({ min: 100_000_000_000, max: 999_999_999_999 }), label)
    .map(([region, account, name]) => `arn:aws:secretsmanager:${region}:${account}:secret:${name}`),
  fc.tuple(label, label).map(([a, b]) => `https://${a}.${b}.internal/identity`),
  fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.')),
  fc.tuple(label, label).map(([a, b]) => `host "${a}.${b}.corp"`),
  fc.tuple(label, label).map(([a, b]) => `getaddrinfo ENOTFOUND ${a}.${b}.corp`),
);

const errorClasses = [
  UnknownClientError,
  CredentialsMisconfiguredError,
  CredentialsUnavailableError,
  CredentialsRejectedError,
  IdentityUnavailableError,
  IdentityBadResponseError,
  StoreUnavailableError,
];

/** The part of an internal that identifies it (what a caller must not learn). */
const marker = (text: string): string => {
  const quoted = /"([^"]+)"/.exec(text)?.[1];
  if (quoted) return quoted;
  const afterErrno = /ENOTFOUND (\S+)/.exec(text)?.[1];
  return afterErrno ?? text;
};

describe('error bodies under generated adapter messages', () => {
  it(`name none of ${RUNS} generated internals in the API body or a direct-invoke error`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...errorClasses),
        fc.string({ maxLength: 20 }).map((s) => s.replace(/[/:"\\[\]]/g, ' ')),
        internal,
        fc.constantFrom(' ', ' (', ': ', ' at '),
        (ErrorClass, prefix, detail, glue) => {
          const error = new ErrorClass(`${prefix}${glue}${detail}${glue === ' (' ? ')' : ''}`);
          const body = errorResponse(error).body ?? '';
          const thrown = new DirectInvokeError(publicError(error));
          expect(body).not.toContain(marker(detail));
          expect(thrown.message).not.toContain(marker(detail));
          expect(JSON.parse(body).error.code).toBe(error.code);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
