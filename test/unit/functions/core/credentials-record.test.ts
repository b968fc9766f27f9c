import { describe, expect, it } from 'vitest';
import { parseCredentialsRecord } from '../../../../functions/core/credentials-record.js';
import { CredentialsMisconfiguredError } from '../../../../functions/core/errors.js';

const SECRET = 'the-client-secret-value';
const valid = {
  clientId: 'client-a',
  clientSecret: SECRET,
  identityUrl: 'https://123-ABC-456.mktorest.com/identity/',
};

const refusal = (raw: unknown, expectedClientId = 'client-a'): CredentialsMisconfiguredError => {
  try {
    parseCredentialsRecord(raw, expectedClientId, 'secret s/client-a');
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsMisconfiguredError);
    return error as CredentialsMisconfiguredError;
  }
  throw new Error('expected a refusal');
};

describe('parseCredentialsRecord', () => {
  it('parses a JSON string and trims trailing slashes of the URLs', () => {
    expect(
      parseCredentialsRecord(
        JSON.stringify({
          ...valid,
          restUrl: 'https://123-ABC-456.mktorest.com/rest//',
          instance: '123-ABC-456',
        }),
        'client-a',
        'secret s/client-a',
      ),
    ).toEqual({
      clientId: 'client-a',
      clientSecret: SECRET,
      identityUrl: 'https://123-ABC-456.mktorest.com/identity',
      restUrl: 'https://123-ABC-456.mktorest.com/rest',
      instance: '123-ABC-456',
    });
  });

  it('accepts an already parsed object and leaves optional fields out when absent or null', () => {
    expect(parseCredentialsRecord({ ...valid, restUrl: null }, 'client-a', 'here')).toEqual({
      clientId: 'client-a',
      clientSecret: SECRET,
      identityUrl: 'https://123-ABC-456.mktorest.com/identity',
    });
  });

  it('refuses text that is not JSON, naming where it came from', () => {
    expect(refusal('{nope').message).toBe('secret s/client-a: value is not valid JSON');
  });

  it.each([[null], [[valid]], ['"text"']])('refuses a value that is not an object: %j', (raw) => {
    expect(refusal(raw).message).toBe('secret s/client-a: value must be a JSON object');
  });

  it.each(['clientId', 'clientSecret', 'identityUrl'])('refuses a missing or empty %s', (field) => {
    expect(refusal({ ...valid, [field]: '' }).message).toBe(
      `secret s/client-a: field "${field}" is missing or not a non-empty string`,
    );
  });

  it('refuses a record registered under another client id', () => {
    expect(refusal(valid, 'client-b').message).toBe(
      'secret s/client-a: field "clientId" does not match the client id it is registered under',
    );
  });

  it('refuses an identityUrl or restUrl that is not a URL', () => {
    expect(refusal({ ...valid, identityUrl: 'not a url' }).message).toContain(
      '"identityUrl" is not a valid URL',
    );
    expect(refusal({ ...valid, restUrl: 'also not' }).message).toContain('"restUrl" is not a valid URL');
  });

  it('refuses an instance outside the id alphabet', () => {
    expect(refusal({ ...valid, instance: 'a/b' }).message).toContain('field "instance"');
  });

  it('never puts the secret in a refusal', () => {
    for (const raw of [
      { ...valid, clientId: 'other' },
      { ...valid, identityUrl: SECRET },
      { ...valid, instance: SECRET.replace(/-/g, '/') },
    ]) {
      expect(refusal(raw).message).not.toContain(SECRET);
    }
  });
});
