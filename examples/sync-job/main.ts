/**
 * `npm run example:sync-job`: the sync job once, from a shell. It pages every lead of `MARKETO_CLIENT_ID`'s
 * instance through the vendor: a permit of the shared budget per page, the token in the Authorization header,
 * a 601/602 recovered from once. The environment names the vendor as a deployed job's does
 * (`TOKEN_VENDOR_ENDPOINT`, `AWS_REGION`, `MARKETO_CLIENT_ID`, `MARKETO_REST_URL`, AWS credentials from the
 * default chain). Against local mode, export them first: `eval "$(npx marketo-token-vendor local env)"`, or run it
 * as `npx marketo-token-vendor local exec -- npm run example:sync-job`.
 */
import { createTokenClient } from '#client';
import { createSyncJob } from './handler.js';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) {
    console.error(
      `${name} must be set. Against local mode (npm start): eval "$(npx marketo-token-vendor local env)" first.`,
    );
    process.exit(2);
  }
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
