#!/usr/bin/env node
// The repository's `marketo-token-vendor` entry (`npm run cli`): runs the TypeScript sources through tsx (a
// devDependency), so no build is needed while developing. The published package's bin is the compiled
// dist/cli/main.js instead (see package.json "bin" and cli/main.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./index.ts');
await main();
