import { describe, expect, it } from 'vitest';
import { buildApiEvent } from '../../../local/api-event.js';

const eventWith = (query: Array<[string, string]>, headers: Array<[string, string]>) =>
  buildApiEvent({
    method: 'GET',
    resource: '/tokens/{clientId}',
    path: '/tokens/a',
    pathParameters: { clientId: 'a' },
    query,
    headers,
    body: null,
    caller: { userArn: 'arn:aws:iam::000000000000:user/t', accessKeyId: 'KEY' },
    requestId: 'r',
    requestTimeEpochMs: 0,
  });

describe('buildApiEvent', () => {
  it('passes query parameters named like built-in object members as plain parameters', () => {
    const event = eventWith(
      [
        ['__proto__', '1'],
        ['toString', '2'],
        ['toString', '3'],
      ],
      [],
    );
    expect(Object.entries(event.queryStringParameters ?? {})).toEqual([
      ['__proto__', '1'],
      ['toString', '3'],
    ]);
    expect(Object.entries(event.multiValueQueryStringParameters ?? {})).toEqual([
      ['__proto__', ['1']],
      ['toString', ['2', '3']],
    ]);
  });

  it('passes headers named like built-in object members as plain headers', () => {
    const event = eventWith(
      [],
      [
        ['constructor', 'x'],
        ['hasOwnProperty', 'y'],
      ],
    );
    expect(Object.entries(event.multiValueHeaders)).toEqual([
      ['constructor', ['x']],
      ['hasOwnProperty', ['y']],
    ]);
  });
});
