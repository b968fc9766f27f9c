import { describe, expect, it } from 'vitest';
import { formatRefreshBatch, parseRefreshBatch } from '../../../../functions/contract/index.js';

describe('contract: refresh batch message', () => {
  it('reads back what it writes, pool members with their instance', () => {
    const clients = [{ clientId: 'a', instance: '123-ABC-456' }, { clientId: 'b' }];
    expect(formatRefreshBatch(clients)).toBe(
      '{"clients":[{"clientId":"a","instance":"123-ABC-456"},{"clientId":"b"}]}',
    );
    expect(parseRefreshBatch(formatRefreshBatch(clients))).toEqual(clients);
  });

  it.each([
    ['{nope', 'refresh batch message is not JSON'],
    ['null', 'refresh batch message has no clients array'],
    ['{"clients":{}}', 'refresh batch message has no clients array'],
    ['{"clients":[{"clientId":"../x"}]}', 'refresh batch entry 0 has no valid clientId'],
    [
      '{"clients":[{"clientId":"a"},{"clientId":"b","instance":7}]}',
      'refresh batch entry 1 has an invalid instance',
    ],
  ])('refuses %s', (body, reason) => {
    expect(() => parseRefreshBatch(body)).toThrow(new Error(reason));
  });
});
