/**
 * Local mode: the token API on 127.0.0.1, with no AWS account. Each HTTP request is checked like API
 * Gateway checks an `AWS_IAM` method (SigV4, then the local policy), turned into an API Gateway REST proxy
 * event and handed to the SAME vend handler Lambda runs. Behind it: dynalite persisted under the data
 * directory, the credentials file, the Marketo simulator and the refresher on its schedule.
 *
 * `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`, when set, replace dynalite / the
 * credentials file with those services (real AWS or another emulator; the table must then exist).
 */
import { resolve } from 'node:path';
import { DEFAULT_SECRET_PREFIX, ENV } from '../functions/contract/index.js';
import { ShutdownInterruption } from '../functions/core/clock.js';
import type { RefreshSummary } from '../functions/core/token-vendor-api.js';
import type { TokenVendorConfig } from '../functions/core/vendor-config.js';
import { coreLogger, createTelemetry } from '../functions/telemetry.js';
import { createVendHandler } from '../functions/vend.js';
import type { AccessLogEntry } from './access-log.js';
import { buildApiHandler, claimApiPort } from './builders/api.js';
import { buildBulkSlots } from './builders/bulk.js';
import { buildCredentials } from './builders/credentials.js';
import { claimDataDir } from './builders/data-dir.js';
import { type LocalRefresher, startRefresher } from './builders/refresher.js';
import { startSimulator } from './builders/simulator.js';
import { buildStore } from './builders/store.js';
import { buildPermits, buildVendor } from './builders/vendor.js';
import { LocalConsole, LocalConsoleLogger, type LogFormat } from './console-log.js';
import { secureDataDir } from './data-dir.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http-guard.js';
import type { SimulatedLimits } from './marketo-limits.js';
import type { MarketoSimulator } from './marketo-simulator.js';
import { perRequestLogger } from './request-telemetry.js';
import {
  DEFAULT_LOCAL_DATA_DIR,
  LOCAL_TABLE_NAME,
  localPaths,
  removeRuntimeInfo,
  writeRuntimeInfo,
} from './runtime-info.js';
import type { SimulatedBulkOptions } from './simulator/bulk.js';

/** Options of {@link startLocalVendor}. */
export interface LocalVendorOptions {
  /** Port of the token API on 127.0.0.1 (0: any free port). @default 8787 */
  readonly port?: number;
  /** Port of the embedded Marketo simulator (0: any free port). @default 8788 */
  readonly simulatorPort?: number;
  /**
   * Marketo's per-instance limits enforced by the simulator (606 rate, 615 concurrency, 607 daily quota):
   * `true` for the documented values. @default off
   */
  readonly simulatorLimits?: true | Partial<SimulatedLimits>;
  /** The simulator's Bulk Extract (queue, daily export quota, job time, file size). @default Marketo's limits */
  readonly simulatorBulk?: Partial<SimulatedBulkOptions>;
  /** Whether to run the Marketo simulator (with the demo client). @default true */
  readonly simulator?: boolean;
  /** Lifespan of tokens the simulator issues, in seconds. @default 3600 */
  readonly tokenLifespanSeconds?: number;
  /** Where the policy file, credentials file and dynalite data live. @default '.local' */
  readonly dataDir?: string;
  /** Signing region clients must use. @default 'us-east-1' */
  readonly region?: string;
  /** Interval of the in-process refresher (and its horizon); 0 turns it off. @default 60_000 */
  readonly refreshIntervalMs?: number;
  /** Environment to read `AWS_ENDPOINT_URL_*`, `TABLE_NAME`, `SECRET_PREFIX` from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Engine overrides (tests). */
  readonly vendorConfig?: Partial<TokenVendorConfig>;
  /** Told about each answered request (for the console access log). */
  readonly onRequest?: (entry: AccessLogEntry) => void;
  /**
   * How log lines are written: `text`, one line each for a terminal, a repeated warning once per cause with
   * a count (local/console-log.ts); `json`, Powertools' lines as the Lambdas write them. @default 'text'
   */
  readonly logFormat?: LogFormat;
  /** Where `text` log lines go (tests). @default stdout, and stderr for warnings and errors */
  readonly logWrite?: (line: string, error: boolean) => void;
  /** Told about background events (refresher sweeps, policy file problems, repaired file modes). */
  readonly onEvent?: (message: string) => void;
  /** Timeouts and caps of the API's HTTP server (tests shorten them). */
  readonly httpLimits?: Partial<HttpLimits>;
  /**
   * On stop, how long requests already running may take to finish (the store and the simulator still
   * answer them) before their connections are cut. @default 2_000
   */
  readonly stopGraceMs?: number;
}

/** A running local vendor. */
export interface LocalVendor {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly region: string;
  /** The embedded simulator, unless turned off. */
  readonly simulator?: MarketoSimulator;
  /** Absolute paths of the files local mode uses. */
  readonly paths: { readonly dataDir: string; readonly policy: string; readonly credentials: string };
  /** Where tokens are stored: `dynalite` (embedded) or the `AWS_ENDPOINT_URL_DYNAMODB` endpoint. */
  readonly storeEndpoint: string;
  /** Where credentials come from: the credentials file or the Secrets Manager endpoint. */
  readonly credentialsSource: string;
  /** One refresher sweep now (also what the schedule runs). */
  refreshNow(): Promise<RefreshSummary>;
  /** Writes the usage per consumer buffered in this process now (otherwise at most every second, and at stop). */
  flushUsage(): Promise<void>;
  /**
   * Stops the API first (requests already running get `stopGraceMs` to finish), then the refresher, the
   * simulator and dynalite; idempotent.
   */
  stop(): Promise<void>;
}

/** On stop, how long requests already running may take to finish (see `stopGraceMs`). */
const DEFAULT_STOP_GRACE_MS = 2_000;

/** The file name of the local policy inside the data directory. */
export const LOCAL_POLICY_FILE = 'policy.json';

/** Logs and metrics of local mode are told apart from the Lambdas' by this service name. */
const LOCAL_SERVICE_NAME = 'marketo-token-vendor-local';

/**
 * Starts local mode. Rejects with `PortInUseError` / `DataDirInUseError` when it cannot. A recipe of the
 * builders in local/builders/, in the order their failures should surface: nothing is started when the data
 * directory or the API port is taken, and whatever did start is stopped when a later step fails.
 */
export async function startLocalVendor(options: LocalVendorOptions = {}): Promise<LocalVendor> {
  const env = options.env ?? process.env;
  const region = options.region ?? 'us-east-1';
  const dataDir = resolve(options.dataDir ?? DEFAULT_LOCAL_DATA_DIR);
  const files = localPaths(dataDir);
  const policyPath = resolve(dataDir, LOCAL_POLICY_FILE);
  const credentialsPath = resolve(files.credentialsFile);
  const dynamoOverride = env.AWS_ENDPOINT_URL_DYNAMODB;
  const secretsOverride = env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  const tokenLifespanSeconds = options.tokenLifespanSeconds ?? 3600;
  const onEvent = options.onEvent ?? (() => undefined);

  await claimDataDir(dataDir, onEvent);
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits };
  // Claim the API port first: if it is taken, nothing else has been started.
  const api = await claimApiPort(limits, options.port ?? 8787, options.onRequest);

  // Run in reverse on stop, after the API has closed: nothing a request started may outlive the store.
  const cleanups: Array<() => Promise<void>> = [];
  const shutdown = new AbortController();
  let refresher: LocalRefresher | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const refresherStopped = refresher?.stop();
    // Typed, so work it interrupts is not recorded as the client's failure (functions/core/clock.ts).
    shutdown.abort(new ShutdownInterruption('local vendor stopping'));
    // The API first: requests already running (a permit release, a lease write) get a grace to finish
    // while the store and the simulator still answer them.
    await api.close(options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    await refresherStopped;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await removeRuntimeInfo(dataDir).catch(() => undefined);
  };

  try {
    let simulator: MarketoSimulator | undefined;
    if (options.simulator !== false) {
      const started = await startSimulator({
        port: options.simulatorPort ?? 8788,
        tokenLifespanSeconds,
        ...(options.simulatorLimits === undefined ? {} : { limits: options.simulatorLimits }),
        ...(options.simulatorBulk === undefined ? {} : { bulk: options.simulatorBulk }),
      });
      cleanups.push(() => started.stop());
      simulator = started;
    }

    // The same logger calls as in Lambda, printed for a terminal unless JSON is asked for.
    const localConsole =
      options.logFormat === 'json'
        ? undefined
        : new LocalConsole(options.logWrite === undefined ? {} : { write: options.logWrite });
    // Closed last (cleanups run in reverse): it prints the counts of repeated warnings.
    if (localConsole) cleanups.unshift(async () => localConsole.close());
    // Requests refused before the engine records anything are normal here: no empty-metrics warning.
    const telemetry = createTelemetry(LOCAL_SERVICE_NAME, env, {
      warnOnEmptyMetrics: false,
      ...(localConsole
        ? {
            logger: new LocalConsoleLogger(localConsole, {
              serviceName: env[ENV.serviceName] ?? LOCAL_SERVICE_NAME,
            }),
          }
        : {}),
    });

    // Token store: dynalite persisted under the data directory, or the endpoint the environment names.
    const tableName = env[ENV.tableName] ?? LOCAL_TABLE_NAME;
    const store = await buildStore({
      dynaliteDir: files.dynaliteDir,
      tableName,
      ...(dynamoOverride ? { endpoint: dynamoOverride, createTable: false } : {}),
    });
    cleanups.push(() => store.close());
    if (store.embedded) {
      // LevelDB has now created its files with the process umask (the 0700 directory already shuts others
      // out, and npm start sets umask 077): make them 0600 too, and again when it stops.
      await secureDataDir(dataDir);
    }

    // Credentials: the local file (seeded with the demo client), or Secrets Manager at the given endpoint.
    const credentials = await buildCredentials({
      path: credentialsPath,
      ...(secretsOverride
        ? {
            secretsManager: {
              endpoint: secretsOverride,
              prefix: env[ENV.secretPrefix] ?? DEFAULT_SECRET_PREFIX,
            },
          }
        : {}),
      ...(simulator ? { simulator } : {}),
      logger: coreLogger(telemetry.logger),
      onEvent,
    });
    cleanups.push(() => credentials.close());

    const vendor = buildVendor({
      store,
      credentials: credentials.source,
      telemetry,
      shutdown: shutdown.signal,
      tokenLifespanSeconds,
      ...(options.vendorConfig ? { vendorConfig: options.vendorConfig } : {}),
    });
    const budgetTableName = env[ENV.budgetTableName] ?? `${tableName}-budget`;
    const permits = await buildPermits({
      store,
      budgetTableName,
      credentials: credentials.source,
      vendor,
      telemetry,
      env,
    });
    const bulkSlots = await buildBulkSlots({
      store,
      budgetTableName,
      credentials: credentials.source,
      telemetry,
      env,
      ...(permits.usage === undefined ? {} : { usage: permits.usage }),
    });
    // Usage per consumer still buffered is written before the store closes.
    cleanups.push(async () => permits.usage?.flush());
    const handle = await buildApiHandler({
      region,
      port: api.port,
      limits,
      policyPath,
      // One logger context per request: concurrent requests' audit lines each name their own request.
      vend: perRequestLogger(telemetry, (scoped) =>
        createVendHandler({ vendor, telemetry: scoped, permits, bulkSlots }),
      ),
      onSigned: (req) => api.vouch(req),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      onEvent,
    });
    refresher = startRefresher({
      vendor,
      intervalMs: options.refreshIntervalMs ?? 60_000,
      shutdown: shutdown.signal,
      onEvent,
    });

    await writeRuntimeInfo(dataDir, {
      pid: process.pid,
      dynamoEndpoint: store.endpoint,
      ...(store.embedded
        ? { storeSocket: store.embedded.socketPath, dynamoCredentials: store.embedded.credentials }
        : {}),
      tableName,
      credentialsFile: credentialsPath,
      apiUrl: api.url,
      region,
      ...(simulator ? { simulatorUrl: simulator.url } : {}),
    });
    api.serve(handle);

    return {
      url: api.url,
      region,
      ...(simulator ? { simulator } : {}),
      paths: { dataDir, policy: policyPath, credentials: credentialsPath },
      storeEndpoint: dynamoOverride ? store.endpoint : `dynalite (${files.dynaliteDir})`,
      credentialsSource: credentials.location,
      refreshNow: refresher.sweep,
      flushUsage: async () => permits.usage?.flush(),
      stop,
    };
  } catch (error) {
    api.fail(error);
    await stop();
    throw error;
  }
}
