#!/usr/bin/env node
// The npm registry this project's machines reach carries only some platform builds of a few packages
// (Biome's non-Linux CLIs answer 404). `npm install` then writes a lock whose package entries still name
// those optional dependencies without an entry of their own, and `npm ci` refuses that lock ("Missing: …
// from lock file"). This drops exactly those dangling optional names, so `npm ci` works on a fresh machine.
// Run it after any `npm install` that changes package-lock.json; `--check` only reports (exit 1 if it
// would change anything), which test/unit/lockfile.test.ts runs.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));

const checkOnly = process.argv.includes('--check');

/** Whether `name` resolves from the package at `from` (its own node_modules, its parents', the root's). */
const resolves = (packages, from, name) => {
  let base = from;
  for (;;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
};

const pruned = [];
for (const [from, entry] of Object.entries(lock.packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!resolves(lock.packages, from, name)) {
      delete entry.optionalDependencies[name];
      pruned.push(`${from || '(root)'} → ${name}`);
    }
  }
}
if (pruned.length > 0 && checkOnly) {
  console.log(
    `package-lock.json names ${pruned.length} optional dependencies without an entry (npm ci will refuse it):`,
  );
  for (const line of pruned) console.log(`  ${line}`);
  console.log('run: node scripts/prune-lock-optionals.mjs');
  process.exitCode = 1;
} else if (pruned.length > 0) {
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(
    `package-lock.json: dropped ${pruned.length} optional dependencies the registry does not carry:`,
  );
  for (const line of pruned) console.log(`  ${line}`);
} else {
  console.log('package-lock.json: every optional dependency has an entry; nothing to do');
}
