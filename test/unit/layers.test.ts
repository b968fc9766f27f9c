import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 24 "done when": the layers of docs/architecture.md hold. The construct (lib/) takes from functions/
 * only the contract, the facts both sides agree on; the contract imports nothing outside its own folder, so
 * every side can import it. Imports are read from the source (static, `export … from` and `import()`).
 */
const root = resolve(import.meta.dirname, '../..');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });

const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm;

/** `file:line → target` for every relative import of `dir`'s files that resolves outside `allowed`. */
const importsOutside = (dir: string, allowed: (target: string) => boolean): string[] =>
  sourceFiles(join(root, dir)).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].flatMap((match) => {
      const specifier = match[1] as string;
      if (!specifier.startsWith('.')) return [];
      const target = relative(root, resolve(dirname(file), specifier));
      return allowed(target) ? [] : [`${relative(root, file)} → ${target}`];
    }),
  );

describe('layers', () => {
  it('lib/ imports nothing from functions/ but functions/contract/', () => {
    const offenders = importsOutside(
      'lib',
      (target) => !target.startsWith('functions/') || target.startsWith('functions/contract/'),
    );
    expect(offenders).toEqual([]);
  });

  it('functions/contract/ imports nothing outside itself', () => {
    expect(
      importsOutside('functions/contract', (target) => target.startsWith('functions/contract/')),
    ).toEqual([]);
  });
});
