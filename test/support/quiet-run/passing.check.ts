import { describe, expect, it } from 'vitest';
import { announce } from '../announce.js';

announce('ANNOUNCED: a skip reason');

describe('a file whose tests pass', () => {
  it('writes to stdout and the console, and passes', () => {
    process.stdout.write('PASSING-STDOUT\n');
    console.log('PASSING-CONSOLE');
    expect(1).toBe(1);
  });
});
