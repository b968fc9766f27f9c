/**
 * `npm start`: the token vendor on this machine, no AWS account needed. Prints the endpoint, the access
 * key local mode generated for this data directory and a ready-to-paste `curl --aws-sigv4` line; Ctrl-C
 * (or SIGTERM) shuts it down cleanly.
 */
import { Command, InvalidArgumentError } from 'commander';
import { routeOf, routePath } from '../functions/contract/index.js';
import { DEMO_CLIENT } from './marketo-simulator.js';
import { generatedKeyOf, readPolicyFile } from './policy.js';
import { DataDirInUseError, type LocalVendor, PortInUseError, startLocalVendor } from './server.js';

// Everything this process creates (dynalite's files included) is for this user only.
process.umask(0o077);

// Local mode defaults: one access-log line per request instead of JSON audit lines and EMF blobs.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number');
  return n;
};
const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
};

const program = new Command('start')
  .description('Local Marketo token vendor on 127.0.0.1 (SigV4-checked API, dynalite, Marketo simulator)')
  .option('--port <port>', 'port of the token API (0: any free port)', port, 8787)
  .option('--simulator-port <port>', 'port of the Marketo simulator (0: any free port)', port, 8788)
  .option('--lifespan <seconds>', 'lifespan of tokens the simulator issues', positive, 3600)
  .option('--refresh-interval <seconds>', 'refresher schedule (0: off)', positive, 60)
  .option('--data-dir <dir>', 'where the policy, credentials and token store live', '.local')
  .parse();

const opts = program.opts<{
  port: number;
  simulatorPort: number;
  lifespan: number;
  refreshInterval: number;
  dataDir: string;
}>();

const time = (): string => new Date().toISOString().slice(11, 19);

let local: LocalVendor;
try {
  local = await startLocalVendor({
    port: opts.port,
    simulatorPort: opts.simulatorPort,
    tokenLifespanSeconds: opts.lifespan,
    refreshIntervalMs: opts.refreshInterval * 1000,
    dataDir: opts.dataDir,
    onRequest: (e) =>
      console.log(
        `${time()} ${e.method} ${e.path} ${e.status} ${e.ms} ms${e.principal ? ` ${e.principal}` : ''}`,
      ),
    onEvent: (message) => console.log(`${time()} ${message}`),
  });
} catch (error) {
  if (error instanceof PortInUseError || error instanceof DataDirInUseError) {
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
    ? [`  simulator:   ${local.simulator.identityUrl} (demo client "${DEMO_CLIENT.clientId}")`]
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
