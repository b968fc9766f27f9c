#!/usr/bin/env node
// `npm run build`: compiles the published parts (lib/, client/, cli/, functions/) to dist/ as ES modules
// with .d.ts files. Starts from an empty dist/ so no stale module from a deleted source ships.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
rmSync(new URL('dist/', root), { recursive: true, force: true });
execFileSync(
  process.execPath,
  [new URL('node_modules/typescript/bin/tsc', root).pathname, '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
// Compiled modules one level deeper than their sources read `../package.json` (the CLI's --version):
// give them a manifest there that carries the version and keeps dist/ ESM.
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
writeFileSync(
  new URL('dist/package.json', root),
  `${JSON.stringify({ type: 'module', version }, null, 2)}\n`,
);
