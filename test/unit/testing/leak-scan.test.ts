import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../../functions/core/fingerprint.js';
import { findLeaks } from '../../../testing/leak-scan.js';

const token = '0f3c1b2a-1d2e-4f50-8a6b-7c8d9e0f1a2b:ab';

describe('leak scan', () => {
  it('finds a token-shaped value in a log line', () => {
    const leaks = findLeaks([{ file: 'log-1.txt', text: `{"msg":"vend","token":"${token}"}` }], new Set());
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatchObject({ kind: 'token' });
    expect(leaks[0].excerpt).not.toContain(token);
  });

  it('finds a registered secret anywhere in a line', () => {
    const leaks = findLeaks(
      [{ file: 'log-1.txt', text: 'error: bad secret s3cr3t-value-123' }],
      new Set(['s3cr3t-value-123']),
    );
    expect(leaks).toMatchObject([{ kind: 'secret' }]);
  });

  it('accepts a token fingerprint', () => {
    expect(findLeaks([{ file: 'log-1.txt', text: `token=${fingerprint(token)}` }], new Set([token]))).toEqual(
      [],
    );
  });
});
