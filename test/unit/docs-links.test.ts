import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = join(ROOT, 'docs');

/** README.md, CHANGELOG.md and every Markdown file directly under docs/. */
const markdownFiles = (): string[] => [
  join(ROOT, 'README.md'),
  join(ROOT, 'CHANGELOG.md'),
  ...readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(DOCS, name)),
];

/** Targets of inline links and images (`[text](target)`, `![alt](target)`) outside fenced code blocks. */
const linkTargets = (markdown: string): string[] => {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] as string,
  );
};

/** Relative targets only: no scheme (`https:`, `mailto:`), no protocol-relative or pure-anchor links. */
const isRelative = (target: string): boolean => !/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(target);

describe('documentation links', () => {
  it('finds links outside code, ignoring code blocks and inline code', () => {
    const targets = linkTargets(
      ['See [a](a.md) and ![b](img/b.svg "title").', '```md', '[not](c.md)', '```', 'and `[no](d.md)`'].join(
        '\n',
      ),
    );
    expect(targets).toEqual(['a.md', 'img/b.svg']);
  });

  it('covers the README and every document under docs/', () => {
    const names = markdownFiles().map((file) => relative(ROOT, file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'docs/operations.md', 'docs/consumers.md']));
  });

  it('resolves every relative link in README.md and docs/*.md to a file that exists', () => {
    const broken = markdownFiles().flatMap((file) =>
      linkTargets(readFileSync(file, 'utf8'))
        .filter(isRelative)
        .map((target) => ({ target, path: decodeURIComponent(target.split('#')[0] as string) }))
        .filter(({ path }) => path !== '' && !existsSync(resolve(dirname(file), path)))
        .map(({ target }) => `${relative(ROOT, file)} → ${target}`),
    );
    expect(broken).toEqual([]);
  });
});
