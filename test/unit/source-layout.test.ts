/**
 * Rules of the source layout (issue 24): files of one idea stay short, the construct (lib/) takes from
 * functions/ only the contract, the contract imports nothing outside itself, and the shared test world in
 * testing/ (used by bench/ too) stands on its own, without test/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Longest source file, in lines: past it a file holds more than one idea (STYLE.md, "Files of one idea"). */
const MAX_SOURCE_LINES = 400;

/** Every `.ts` file under `dir` (relative to the repository), recursively. */
const tsFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
    .sort();

const lineCount = (file: string): number => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
};

/** Module specifiers of static imports, re-exports and dynamic `import()` calls. */
const importSpecifiers = (source: string): string[] =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((match) => match[1] ?? '');

describe('source files', () => {
  it.for(['functions', 'lib', 'local', 'cli', 'client'])(
    `under %s/ are at most ${MAX_SOURCE_LINES} lines each`,
    (dir) => {
      const tooLong = tsFiles(dir)
        .filter((file) => lineCount(file) > MAX_SOURCE_LINES)
        .map((file) => `${file}: ${lineCount(file)} lines`);

      expect(tooLong).toEqual([]);
    },
  );
});

describe('re-exports', () => {
  // One name, one home: a reader who follows an import lands where the name is defined. A package's
  // index.ts is its public surface and the one file that re-exports.
  it.for(['functions', 'lib', 'local', 'cli', 'client'])('under %s/ live only in index.ts files', (dir) => {
    const reExporting = tsFiles(dir)
      .filter((file) => !file.endsWith(`${sep}index.ts`))
      .filter((file) =>
        /^export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s/m.test(readFileSync(join(ROOT, file), 'utf8')),
      );

    expect(reExporting).toEqual([]);
  });
});

describe('test/unit/', () => {
  // Powertools' tests/unit mirrors src: one home per source file, found by its path (test/README.md).
  it('has only folders that mirror a source folder of the same path', () => {
    const folders = readdirSync(join(ROOT, 'test', 'unit'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => relative(join(ROOT, 'test', 'unit'), join(entry.parentPath, entry.name)));
    const withoutSource = folders.filter((folder) => {
      try {
        return !statSync(join(ROOT, folder)).isDirectory();
      } catch {
        return true;
      }
    });

    expect(withoutSource).toEqual([]);
  });
});

describe('testing/', () => {
  it('imports nothing from test/ (bench/ uses it without the test tree)', () => {
    const testDir = join(ROOT, 'test') + sep;
    const offenders = tsFiles('testing').flatMap((file) =>
      importSpecifiers(readFileSync(join(ROOT, file), 'utf8'))
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => resolve(ROOT, dirname(file), specifier).startsWith(testDir))
        .map((specifier) => `${file} imports ${relative(ROOT, resolve(ROOT, dirname(file), specifier))}`),
    );

    expect(offenders).toEqual([]);
  });

  it('is scanned by the import check (the scan finds the imports testing/ has)', () => {
    expect(importSpecifiers(readFileSync(join(ROOT, 'testing/world.ts'), 'utf8'))).toContain('./clocks.js');
  });
});

/** `file imports target` for every relative import of `dir`'s files whose target `allowed` refuses. */
const importsRefused = (dir: string, allowed: (target: string) => boolean): string[] =>
  tsFiles(dir).flatMap((file) =>
    importSpecifiers(readFileSync(join(ROOT, file), 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)))
      .filter((target) => !allowed(target))
      .map((target) => `${file} imports ${target}`),
  );

describe('layers', () => {
  it('lib/ imports nothing from functions/ but functions/contract/', () => {
    const contractOnly = (target: string): boolean =>
      !target.startsWith(`functions${sep}`) || target.startsWith(join('functions', 'contract') + sep);

    expect(importsRefused('lib', contractOnly)).toEqual([]);
  });

  it('functions/contract/ imports nothing outside itself', () => {
    const inside = (target: string): boolean => target.startsWith(join('functions', 'contract') + sep);

    expect(importsRefused(join('functions', 'contract'), inside)).toEqual([]);
  });
});
