import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.js';
import { type CliIo, promptSecret, readSecretFromStdin } from '../../../cli/io.js';

describe('reading the client secret', () => {
  it('drops one trailing newline from stdin', async () => {
    await expect(readSecretFromStdin(Readable.from([Buffer.from('s3cret-value\n')]))).resolves.toBe(
      's3cret-value',
    );
  });

  it('refuses a secret spanning several lines', async () => {
    await expect(readSecretFromStdin(Readable.from([Buffer.from('one\ntwo\n')]))).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it('prompts with raw mode on and echoes nothing of what is typed', async () => {
    const modes: boolean[] = [];
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: (mode: boolean) => modes.push(mode),
    });
    const stderr = new PassThrough();
    let shown = '';
    stderr.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
    });
    const io: CliIo = { stdin, stdout: new PassThrough(), stderr };

    const secret = promptSecret(io, 'Client secret: ');
    stdin.write('typo\u007f\u007f\u007f\u007fhidden-value\r');

    await expect(secret).resolves.toBe('hidden-value');
    expect(modes).toEqual([true, false]);
    expect(shown).toBe('Client secret: \n');
  });

  it('aborts the prompt on Ctrl-C', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const io: CliIo = { stdin, stdout: new PassThrough(), stderr: new PassThrough() };

    const secret = promptSecret(io, '? ');
    stdin.write('\u0003');

    await expect(secret).rejects.toBeInstanceOf(CliError);
  });
});
