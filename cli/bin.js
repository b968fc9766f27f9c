#!/usr/bin/env node
// The `marketo-token-vendor` bin: runs the TypeScript entry through tsx (a devDependency). A packaged
// build (issue 9) compiles cli/ to JavaScript and points this shim at the compiled entry instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./index.ts');
await main();
