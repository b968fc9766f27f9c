import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 14 part 7: the examples import the package as a user would. In this repository `#construct` and
 * `#client` (package.json "imports") stand for the published `marketo-token-vendor/construct` and
 * `marketo-token-vendor/client`; a path into lib/, client/ or functions/ would show users an import they
 * cannot write.
 */
const root = join(import.meta.dirname, '../..');
const examples = join(root, 'examples');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });

/** Every module specifier of `import … from '…'`, `export … from '…'` and `import('…')`. */
const specifiers = (source: string): string[] =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] ?? '',
  );

interface PackageJson {
  readonly name: string;
  readonly exports: Record<string, unknown>;
  readonly imports: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

describe('examples', () => {
  it('import the package only through its public entry points, never by a path out of examples/', () => {
    const outside = sourceFiles(examples).flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('../../') || specifier.startsWith('/'))
        .map((specifier) => `${relative(root, file)}: ${specifier}`),
    );
    expect(outside).toEqual([]);
  });

  it('use every "#" import as the name of a published subpath', () => {
    const used = new Set(
      sourceFiles(examples).flatMap((file) =>
        specifiers(readFileSync(file, 'utf8')).filter((specifier) => specifier.startsWith('#')),
      ),
    );
    expect([...used].sort()).toEqual(['#client', '#construct']);
    for (const specifier of used) {
      expect(Object.keys(pkg.exports), `${pkg.name}/${specifier.slice(1)}`).toContain(
        `./${specifier.slice(1)}`,
      );
      expect(pkg.imports[specifier]).toBeDefined();
    }
  });

  it('"#" imports point at the sources of the same entry points the published exports build', () => {
    expect(pkg.imports).toEqual({ '#construct': './lib/index.ts', '#client': './client/index.ts' });
    expect(pkg.exports['./construct']).toEqual({
      types: './dist/lib/index.d.ts',
      default: './dist/lib/index.js',
    });
    expect(pkg.exports['./client']).toEqual({
      types: './dist/client/index.d.ts',
      default: './dist/client/index.js',
    });
  });
});
