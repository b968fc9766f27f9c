import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID_PATTERN_SOURCE,
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_SECRET_PREFIX,
  ENV,
  ROUTES,
} from '../../../../functions/contract/index.js';

/**
 * Issue 14 "done when": no fact of the contract is written twice in source. The id pattern and the route
 * templates live in functions/contract/ only; client/ keeps its own copy (guarded by
 * test/unit/client/token-client.test.ts).
 * Comment lines are ignored (docs may name a route). No file is exempt: the migration of issue 14 is done.
 */
const root = join(import.meta.dirname, '../../../..');
const SCANNED = ['functions', 'lib', 'local', 'cli'];

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });

const isComment = (line: string): boolean => /^\s*(\/\/|\/\*|\*)/.test(line);

/** Route templates as written in a string (`'/tokens/{clientId}'`) or filled in (`` `/tokens/${id}` ``). */
const routeCopies = ROUTES.flatMap((route) => [route.resource, route.resource.replace(/\{[^}]+\}/, '${')]);
const patternCopy = CLIENT_ID_PATTERN_SOURCE.slice(1, -1);
/** Defaults as string literals: the secret prefix and the default Identity hosts. */
const defaultCopies = [DEFAULT_SECRET_PREFIX, ...DEFAULT_IDENTITY_HOSTS.map((host) => `'${host}'`)];
/** Environment variable names read as `env.NAME` or written as `'NAME'` instead of through `ENV`. */
const envCopies = Object.values(ENV).flatMap((name) => [`.${name} `, `.${name})`, `.${name};`, `'${name}'`]);

const copiesIn = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (isComment(line)) return [];
      const found = [patternCopy, ...routeCopies, ...defaultCopies, ...envCopies].filter((copy) =>
        line.includes(copy),
      );
      return found.length > 0 ? [`${relative(root, file)}:${i + 1}: ${line.trim()}`] : [];
    });

const filesWithCopies = (): Map<string, string[]> => {
  const byFile = new Map<string, string[]>();
  for (const dir of SCANNED) {
    for (const file of sourceFiles(join(root, dir))) {
      const rel = relative(root, file);
      if (rel.startsWith('functions/contract/')) continue;
      const copies = copiesIn(file);
      if (copies.length > 0) byFile.set(rel, copies);
    }
  }
  return byFile;
};

describe('contract: one source', () => {
  it('the client-id pattern, the route templates, the secret prefix, the default Identity hosts and the env keys appear only in functions/contract/', () => {
    const offenders = [...filesWithCopies()].flatMap(([, lines]) => lines);
    expect(offenders).toEqual([]);
  });
});
