import { describe, expect, it } from 'vitest';
import { parserRefusalOf } from '../../../local/parser-refusal.js';

const parserError = (code: string, reason?: string) =>
  Object.assign(new Error('Parse Error'), { code, reason });

describe('parserRefusalOf', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', undefined, 431, 'Request header fields too large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', undefined, 408, 'Request not complete within the request timeout'],
    ['HPE_PAUSED_H2_UPGRADE', 'Pause on PRI/Upgrade', 400, 'HTTP/2 is not served here: use HTTP/1.1'],
    [
      'HPE_INVALID_METHOD',
      'Invalid method encountered',
      400,
      'Request is not valid HTTP/1.1: Invalid method encountered',
    ],
    ['HPE_SOMETHING_NEW', undefined, 400, 'Request is not valid HTTP/1.1'],
  ])('answers %s with %i', (code, reason, status, message) => {
    expect(parserRefusalOf(parserError(code, reason))).toEqual({ status, message });
  });
});
