/** The CLI's option parsers and shared help text (cli/index.ts builds the program with them). */
import { InvalidArgumentError } from 'commander';

/** A whole number in [`min`, `max`], or commander's invalid-argument error. */
export const integerIn =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };

/** A URL, or commander's invalid-argument error. */
export const url = (value: string): string => {
  if (!URL.canParse(value)) throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:8000');
  return value;
};

/** A repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Commander codes that mean "help or version was shown as asked": exit 0. */
export const SHOWN_AS_ASKED = new Set(['commander.helpDisplayed', 'commander.version']);

/** The program's help after its options. */
export const GLOBAL_HELP = `
Examples:
  # register a Custom Service (the secret is read from a hidden prompt)
  $ marketo-token-vendor clients add my-sync --identity-url https://123-ABC-456.mktorest.com/identity --instance 123-ABC-456
  # the same from a script: the secret comes from stdin, never from a flag
  $ printf '%s' "$SECRET" | marketo-token-vendor clients add my-sync --identity-url https://123-ABC-456.mktorest.com/identity --secret-stdin
  $ marketo-token-vendor clients list --table MarketoTokenVendor-Tokens --region eu-west-1
  $ marketo-token-vendor clients status my-sync --local
  $ marketo-token-vendor clients refresh --all --local

Exit codes: 0 ok, 1 operation failed, 2 usage error.
AWS mode honours AWS_REGION, AWS_PROFILE, TABLE_NAME, SECRET_PREFIX, IDENTITY_ALLOWED_HOSTS,
AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SECRETS_MANAGER.
Local mode (--local) uses the store of a running npm start, or opens <data-dir>/dynalite itself.
`;
