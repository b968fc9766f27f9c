#!/usr/bin/env node
// The `marketo-token-vendor` bin (`npx marketo-token-vendor`). In a clone of the repository the TypeScript
// sources sit beside this file: it runs them through tsx (a devDependency), so the CLI works right after
// `npm ci` with no build and never runs a stale dist/. The published package ships no sources and runs the
// compiled dist/cli/main.js (`npm run build`, run by `npm pack` / `npm publish`).
import { existsSync } from 'node:fs';

if (existsSync(new URL('./index.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./index.ts');
  // Local mode lives in the repository only: `local env` / `local exec` are the clone's.
  const { addLocalCommand } = await import('./local-env.ts');
  await main(undefined, [addLocalCommand]);
} else {
  await import('../dist/cli/main.js');
}
