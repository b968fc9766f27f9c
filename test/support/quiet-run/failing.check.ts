import { describe, expect, it } from 'vitest';

describe('a file with a failing test', () => {
  it('writes to stderr and the console, and fails', () => {
    process.stderr.write('FAILING-STDERR\n');
    console.log('FAILING-CONSOLE');
    expect(1).toBe(2);
  });
});
