/**
 * `npm start`: the token vendor on this machine, no AWS account needed. Prints the endpoint, the access
 * key local mode generated for this data directory and a ready-to-paste `curl --aws-sigv4` line; Ctrl-C
 * (or SIGTERM) shuts it down cleanly.
 */
import { startBanner } from './banner.js';
import { DataDirInUseError } from './builders/data-dir.js';
import { UntrustedPathError } from './file-trust.js';
import { PortInUseError } from './http-guard.js';
import { DEMO_CLIENT } from './marketo-simulator.js';
import { generatedKeyOf, readPolicyFile } from './policy.js';
import { type LocalVendor, startLocalVendor } from './server.js';
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

console.log(
  startBanner({
    url: local.url,
    region: local.region,
    storeEndpoint: local.storeEndpoint,
    credentialsSource: local.credentialsSource,
    policyPath: local.paths.policy,
    dataDir: opts.dataDir,
    ...(local.simulator
      ? {
          simulator: {
            identityUrl: local.simulator.identityUrl,
            restUrl: local.simulator.restUrl,
            demoClientId: DEMO_CLIENT.clientId,
            limitsLine: simulatorLimitsLine(opts.simulatorLimits),
          },
        }
      : {}),
    ...(generatedKey ? { generatedKey } : {}),
  }).join('\n'),
);

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
process.on('SIGHUP', () => void shutdown('SIGHUP'));

// `npm start` runs this process in place of its shell (package.json: `exec node --import tsx …`), so npm's
// SIGINT/SIGTERM reach it. Should whatever started it die without passing a signal on (npm killed with
// SIGKILL, a shell that does not forward), this process is handed to another parent: stop then too, rather
// than keep the ports and the data directory.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) void shutdown('parent process gone');
}, 500).unref();
