import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES, type Route, routesGrantedBy } from '../../functions/contract/index.js';

/**
 * The CDK design guidelines: every prop is documented, and every optional one says its default with
 * `@default` (or `@default - <behaviour>`). Checked on the source, for the construct's and the stack's props.
 */
const root = join(import.meta.dirname, '../..');
const PROPS_FILES = ['lib/marketo-token-vendor-props.ts', 'lib/token-vendor-stack.ts'];

interface Prop {
  readonly file: string;
  readonly name: string;
  readonly optional: boolean;
  readonly doc: string | undefined;
}

const propsOf = (file: string): Prop[] => {
  const source = readFileSync(join(root, file), 'utf8');
  return [...source.matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?\n\s*readonly (\w+)(\?)?:/g)].map((m) => ({
    file,
    name: m[2] ?? '',
    optional: m[3] === '?',
    doc: m[1],
  }));
};

describe('construct and stack props', () => {
  const props = PROPS_FILES.flatMap(propsOf);

  it('are found (the check reads something)', () => {
    expect(props.map((p) => p.name)).toEqual(expect.arrayContaining(['secretPrefix', 'apiName', 'vendor']));
  });

  it('each have a doc comment', () => {
    expect(props.filter((p) => p.doc === undefined).map((p) => `${p.file}: ${p.name}`)).toEqual([]);
  });

  it('each optional one documents its @default', () => {
    expect(
      props.filter((p) => p.optional && !p.doc?.includes('@default')).map((p) => `${p.file}: ${p.name}`),
    ).toEqual([]);
  });
});

/**
 * Issue 24: the construct's docstrings name the routes it serves and grants (the contract's route table), so a
 * reader of the construct learns the API without opening functions/contract/routes.ts.
 */
describe("the construct's docstrings", () => {
  const source = readFileSync(join(root, 'lib/marketo-token-vendor.ts'), 'utf8');
  /** The doc comment right before `declaration`. */
  const docBefore = (declaration: string): string => {
    const at = source.indexOf(declaration);
    const start = source.lastIndexOf('/**', at);
    return source.slice(start, at).replace(/\n\s*\* ?/g, ' ');
  };
  const named = (route: Route): string => `${route.method} ${route.resource}`;

  it("the class's names every route of the API", () => {
    const doc = docBefore('export class MarketoTokenVendor');
    expect(ROUTES.map(named).filter((route) => !doc.includes(route))).toEqual([]);
  });

  it.for([
    { method: 'grantVend', scope: 'client' },
    { method: 'grantVendInstance', scope: 'instance' },
  ] as const)('$method names every route its grant covers, and no other', ({ method, scope }) => {
    const doc = docBefore(`public ${method}(`);
    expect(
      routesGrantedBy(scope)
        .map(named)
        .filter((route) => !doc.includes(route)),
    ).toEqual([]);
    const others = ROUTES.filter((route) => route.grant !== scope);
    expect(others.map(named).filter((route) => doc.includes(route))).toEqual([]);
  });
});
