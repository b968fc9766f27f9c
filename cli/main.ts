#!/usr/bin/env node
/**
 * The packaged `marketo-token-vendor` bin (compiled to dist/cli/main.js by `npm run build`). In the
 * repository, cli/bin.js runs the TypeScript sources through tsx instead, so no build is needed there.
 */
import { main } from './index.js';

await main();
