/**
 * `npm start`: the token vendor on this machine, no AWS account needed. Prints the endpoint, the access
 * key local mode generated for this data directory and a ready-to-paste `curl --aws-sigv4` line; Ctrl-C
 * (or SIGTERM) shuts it down cleanly.
 */
import { routeOf, routePath } from '../functions/contract/index.js';
import { UntrustedPathError } from './file-trust.js';
import { DEMO_CLIENT } from './marketo-simulator.js';
import { generatedKeyOf, readPolicyFile } from './policy.js';
import { DataDirInUseError, type LocalVendor, PortInUseError, startLocalVendor } from './server.js';
import { localVendorOptionsOf, parseStartOptions, simulatorLimitsLine } from './start-options.js';

// Everything this process creates (dynalite's files included) is for this user only.
process.umask(0o077);

// Local mode defaults: one access-log line per request instead of JSON audit lines and EMF blobs.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const opts = parseStartOptions(process.argv.slice(2));

const time = (): string => new Date().toISOString().slice(11, 19);

let local: LocalVendor;
try {
  local = await startLocalVendor({
    ...localVendorOptionsOf(opts),
    onRequest: (e) =>
      console.log(
        `${time()} ${e.method} ${e.path} ${e.status} ${e.ms} ms${e.principal ? ` ${e.principal}` : ''}${e.detail ? ` (${e.detail})` : ''}`,
      ),
    onEvent: (message) => console.log(`${time()} ${message}`),
  });
} catch (error) {
  if (
    error instanceof PortInUseError ||
    error instanceof DataDirInUseError ||
    error instanceof UntrustedPathError
  ) {
    console.error(`npm start: ${error.message}`);
  } else {
    console.error(
      `npm start: could not start local mode: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  process.exit(1);
}

// Only the key local mode generated, and only while the policy file still lists it: a user's own key
// (a real team's, say) is never printed.
const generatedKey = await readPolicyFile(local.paths.policy).then(generatedKeyOf, () => undefined);

const lines = [
  `Marketo token vendor (local mode) listening on ${local.url}`,
  `  region:      ${local.region} (sign requests for service execute-api)`,
  `  token store: ${local.storeEndpoint}`,
  `  credentials: ${local.credentialsSource}`,
  `  policy:      ${local.paths.policy}`,
  ...(local.simulator
    ? [
        `  simulator:   ${local.simulator.identityUrl} (demo client "${DEMO_CLIENT.clientId}")`,
        simulatorLimitsLine(opts.simulatorLimits),
      ]
    : []),
  '',
];
if (generatedKey) {
  lines.push(
    `Local access key: ${generatedKey.accessKeyId}  secret: ${generatedKey.secretAccessKey}  (local-only, generated for this data directory, in the policy file)`,
    '',
    'Get a token:',
    `  curl --aws-sigv4 "aws:amz:${local.region}:execute-api" --user ${generatedKey.accessKeyId}:${generatedKey.secretAccessKey} ${local.url}${routePath(routeOf('token'), DEMO_CLIENT.clientId)}`,
    '',
  );
} else {
  lines.push(
    `Access keys: those in ${local.paths.policy} (local mode prints only the key it generated).`,
    '',
  );
}
lines.push('Ctrl-C to stop.');
console.log(lines.join('\n'));

let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`${time()} ${signal}: stopping…`);
  await local.stop();
  console.log(`${time()} stopped`);
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
