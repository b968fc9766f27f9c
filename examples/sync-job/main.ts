/**
 * `npm run example:sync-job`: the sync job once, from a shell. It pages every lead of `MARKETO_CLIENT_ID`'s
 * instance through the vendor: a permit of the shared budget per page, the token in the Authorization header,
 * a 601/602 recovered from once. The environment names the vendor as a deployed job's does
 * (`TOKEN_VENDOR_ENDPOINT`, `AWS_REGION`, `MARKETO_CLIENT_ID`, `MARKETO_REST_URL`, AWS credentials from the
 * default chain); without `TOKEN_VENDOR_ENDPOINT` it uses the local mode running on `.local` (or
 * `--data-dir <dir>`), as `eval "$(npx marketo-token-vendor local env)"` would.
 */
import { parseArgs } from 'node:util';
import { createTokenClient } from '#client';
import { localJobEnv } from '../../local/job-env.js';
import { createSyncJob } from './handler.js';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string', default: '.local' } } });
if (!process.env.TOKEN_VENDOR_ENDPOINT) {
  // Local mode only: its endpoint, region, generated key and simulator, as `local env` prints them.
  Object.assign(process.env, await localJobEnv(values['data-dir']));
}
const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (or run local mode: npm start)`);
  return value;
};

const restUrl = required('MARKETO_REST_URL');
const tokens = createTokenClient({
  endpoint: required('TOKEN_VENDOR_ENDPOINT'),
  region: required('AWS_REGION'),
});
try {
  const result = await createSyncJob({ tokens, clientId: required('MARKETO_CLIENT_ID'), restUrl })();
  const { permits, waits } = tokens.budgetStats();
  console.log(
    `node sync job: ${result.leads} leads in ${result.pages} pages from ${restUrl}, ${permits} permits (${waits} waits)`,
  );
} finally {
  // The last permit's slot goes back now, not when its lease lapses.
  await tokens.close();
}
