/**
 * Local mode: the token API on 127.0.0.1, with no AWS account. Each HTTP request is checked like API
 * Gateway checks an `AWS_IAM` method (SigV4, then the local policy), turned into an API Gateway REST proxy
 * event and handed to the SAME vend handler Lambda runs. Behind it: dynalite persisted under the data
 * directory, the credentials file, the Marketo simulator and the refresher on its schedule.
 *
 * `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`, when set, replace dynalite / the
 * credentials file with those services (real AWS or another emulator; the table must then exist).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createBudgetTable, DynamoBudgetStore } from '../functions/adapters/dynamo-budget-store.js';
import { createTokenTable, DynamoTokenStore } from '../functions/adapters/dynamo-token-store.js';
import {
  credentialsFileExists,
  FileCredentials,
  upsertClient,
  writeCredentialsFile,
} from '../functions/adapters/file-credentials.js';
import { HttpIdentityClient } from '../functions/adapters/http-identity-client.js';
import { budgetMetrics, readBudgetConfig } from '../functions/budget-runtime.js';
import {
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_SECRET_PREFIX,
  ENV,
  METRICS_NAMESPACE,
} from '../functions/contract/index.js';
import { createInstanceBudget } from '../functions/core/budget/index.js';
import { shutdownAwareClock, systemClock } from '../functions/core/clock.js';
import type { CredentialsSource } from '../functions/core/ports.js';
import type { RefreshSummary, TokenVendor, TokenVendorConfig } from '../functions/core/token-vendor-api.js';
import { createPermitService } from '../functions/http/permit-request.js';
import { coreLogger, coreTelemetry, type Telemetry } from '../functions/telemetry.js';
import { createVendHandler } from '../functions/vend.js';
import { wireVendor } from '../functions/wiring.js';
import { secureDataDir } from './data-dir.js';
import { STORE_REGION, startEmbeddedDynalite } from './embedded-dynalite.js';
import {
  closeServer,
  createLimitedServer,
  DEFAULT_HTTP_LIMITS,
  type HttpLimits,
  listenOnLoopback,
  PortInUseError,
} from './http-guard.js';
import { type AccessLogEntry, createLocalApiHandler } from './local-api.js';
import type { SimulatedLimits } from './marketo-limits.js';
import { createMarketoSimulator, DEMO_CLIENT, type MarketoSimulator } from './marketo-simulator.js';
import { ensurePolicyFile, LocalPolicy } from './policy.js';
import {
  DEFAULT_LOCAL_DATA_DIR,
  LOCAL_TABLE_NAME,
  localPaths,
  readLiveRuntimeInfo,
  removeRuntimeInfo,
  writeRuntimeInfo,
} from './runtime-info.js';
import { createSigV4Verifier } from './sigv4-verifier.js';
import { registerSimulatedClients } from './simulated-clients.js';

export { PortInUseError } from './http-guard.js';
export type { AccessLogEntry } from './local-api.js';

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
  /**
   * Stops the API first (requests already running get `stopGraceMs` to finish), then the refresher, the
   * simulator and dynalite; idempotent.
   */
  stop(): Promise<void>;
}

/** Another local vendor already runs on this data directory (dynalite's store can be opened once). */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/** On stop, how long requests already running may take to finish (see `stopGraceMs`). */
const DEFAULT_STOP_GRACE_MS = 2_000;

/** The file name of the local policy inside the data directory. */
export const LOCAL_POLICY_FILE = 'policy.json';

/** Creates the credentials file with the demo client, or keeps its demo entry pointing at the simulator. */
async function seedCredentials(path: string, simulator: MarketoSimulator | undefined): Promise<void> {
  if (!simulator) return;
  const demo = {
    clientId: DEMO_CLIENT.clientId,
    clientSecret: DEMO_CLIENT.clientSecret,
    identityUrl: simulator.identityUrl,
    restUrl: simulator.restUrl,
  };
  if (!(await credentialsFileExists(path))) {
    await writeCredentialsFile(path, { clients: [demo] });
    return;
  }
  // The simulator may listen on another port than last time: follow it, but only for the demo entry
  // while it still points at loopback (never touch a real Marketo client).
  const current = await new FileCredentials({ path }).get(DEMO_CLIENT.clientId).catch(() => undefined);
  if (
    current &&
    new URL(current.identityUrl).hostname === '127.0.0.1' &&
    current.identityUrl !== demo.identityUrl
  ) {
    await upsertClient(path, { ...current, identityUrl: demo.identityUrl, restUrl: demo.restUrl });
  }
}

/** Starts local mode. Rejects with `PortInUseError` / `DataDirInUseError` when it cannot. */
export async function startLocalVendor(options: LocalVendorOptions = {}): Promise<LocalVendor> {
  const env = options.env ?? process.env;
  const region = options.region ?? 'us-east-1';
  const dataDir = resolve(options.dataDir ?? DEFAULT_LOCAL_DATA_DIR);
  const files = localPaths(dataDir);
  const policyPath = resolve(dataDir, LOCAL_POLICY_FILE);
  const credentialsPath = resolve(files.credentialsFile);
  const refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
  const dynamoOverride = env.AWS_ENDPOINT_URL_DYNAMODB;
  const secretsOverride = env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  const onEvent = options.onEvent ?? (() => undefined);

  const live = await readLiveRuntimeInfo(dataDir);
  if (live && live.pid !== process.pid) {
    throw new DataDirInUseError(
      `another local vendor (pid ${live.pid}, ${live.apiUrl}) already uses ${dataDir}; stop it or pick another --data-dir`,
    );
  }
  // Created or repaired as 0700 with 0600 files on every start (dynalite and editors may leave 0644).
  const repair = await secureDataDir(dataDir);
  for (const warning of repair.warnings) onEvent(`warning: ${warning}`);
  if (repair.tightened.length > 0) {
    onEvent(`made private (others could read them): ${repair.tightened.map((p) => p || '.').join(', ')}`);
  }
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits };

  // Claim the API port first: if it is taken, nothing else has been started.
  type Handle = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  let resolveReady: (handle: Handle) => void = () => undefined;
  let rejectReady: (error: unknown) => void = () => undefined;
  const ready = new Promise<Handle>((resolveHandle, reject) => {
    resolveReady = resolveHandle;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  const api = createLimitedServer(limits, (req, res) => {
    // Start-up failed: the server is about to close; answer nothing.
    void ready.then((handle) => handle(req, res)).catch(() => res.destroy());
  });
  const port = await listenOnLoopback(api, options.port ?? 8787, 'token API');
  const url = `http://127.0.0.1:${port}`;

  // Run in reverse on stop, after the API has closed: nothing a request started may outlive the store.
  const cleanups: Array<() => Promise<void>> = [];
  const shutdown = new AbortController();
  let refreshTimer: NodeJS.Timeout | undefined;
  let sweep: Promise<unknown> | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (refreshTimer) clearTimeout(refreshTimer);
    shutdown.abort(new Error('local vendor stopping'));
    // The API first: requests already running (a permit release, a lease write) get a grace to finish
    // while the store and the simulator still answer them.
    await closeServer(api, options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    await sweep?.catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await removeRuntimeInfo(dataDir).catch(() => undefined);
  };

  try {
    let simulator: MarketoSimulator | undefined;
    if (options.simulator !== false) {
      simulator = createMarketoSimulator({
        clients: [DEMO_CLIENT],
        port: options.simulatorPort ?? 8788,
        tokenLifespanSeconds: options.tokenLifespanSeconds ?? 3600,
        ...(options.simulatorLimits === undefined ? {} : { limits: options.simulatorLimits }),
      });
      try {
        await simulator.start();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw code === 'EADDRINUSE'
          ? new PortInUseError(options.simulatorPort ?? 8788, 'Marketo simulator')
          : error;
      }
      const started = simulator;
      cleanups.push(() => started.stop());
    }

    const logger = new PowertoolsLogger({
      serviceName: env[ENV.serviceName] ?? 'marketo-token-vendor-local',
    });
    const telemetry: Telemetry = {
      logger,
      metrics: new Metrics({
        namespace: env[ENV.metricsNamespace] ?? METRICS_NAMESPACE,
        serviceName: 'marketo-token-vendor-local',
        // Requests that fail before the engine records anything are normal here: not worth a warning.
        logger: {
          debug: (...args: unknown[]) => logger.debug(String(args[0])),
          info: (...args: unknown[]) => logger.info(String(args[0])),
          warn: (...args: unknown[]) => {
            if (!String(args[0]).startsWith('No application metrics to publish'))
              logger.warn(String(args[0]));
          },
          error: (...args: unknown[]) => logger.error(String(args[0])),
        },
      }),
    };

    // Token store: dynalite persisted under the data directory, or the endpoint the environment names.
    let storeEndpoint: string;
    let storeCredentials: { accessKeyId: string; secretAccessKey: string } | undefined;
    if (dynamoOverride) {
      storeEndpoint = dynamoOverride;
    } else {
      const embedded = await startEmbeddedDynalite({ path: files.dynaliteDir });
      cleanups.push(() => embedded.stop()); // which also makes LevelDB's files 0600
      storeEndpoint = embedded.endpoint;
      storeCredentials = embedded.credentials;
    }
    const dynamo = new DynamoDBClient({
      endpoint: storeEndpoint,
      ...(storeCredentials ? { region: STORE_REGION, credentials: storeCredentials } : {}),
      maxAttempts: 2,
    });
    cleanups.push(async () => dynamo.destroy());
    const tableName = env[ENV.tableName] ?? LOCAL_TABLE_NAME;
    if (!dynamoOverride) {
      await createTokenTable(dynamo, tableName);
      // LevelDB has now created its files with the process umask (the 0700 directory already shuts others
      // out, and npm start sets umask 077): make them 0600 too, and again when it stops.
      await secureDataDir(dataDir);
    }
    const store = new DynamoTokenStore({ client: dynamo, tableName });

    // Credentials: the local file (seeded with the demo client), or Secrets Manager at the given endpoint.
    let credentials: CredentialsSource;
    let credentialsSource: string;
    if (secretsOverride) {
      const [{ SecretsManagerClient }, { SecretsManagerCredentials }] = await Promise.all([
        import('@aws-sdk/client-secrets-manager'),
        import('../functions/adapters/secrets-manager-credentials.js'),
      ]);
      const client = new SecretsManagerClient({ endpoint: secretsOverride });
      cleanups.push(async () => client.destroy());
      credentials = new SecretsManagerCredentials({
        client,
        prefix: env[ENV.secretPrefix] ?? DEFAULT_SECRET_PREFIX,
      });
      credentialsSource = secretsOverride;
    } else {
      await seedCredentials(credentialsPath, simulator);
      if (simulator) {
        // Entries with a simulatedRole (or at the simulator's URL) are simulated Custom Services.
        for (const warning of await registerSimulatedClients(credentialsPath, simulator))
          logger.warn(warning);
      }
      credentials = new FileCredentials({ path: credentialsPath, logger: coreLogger(telemetry.logger) });
      credentialsSource = credentialsPath;
    }

    const vendor: TokenVendor = wireVendor({
      store,
      credentials,
      identity: new HttpIdentityClient(),
      clock: shutdownAwareClock(shutdown.signal),
      telemetry: coreTelemetry(telemetry),
      instanceId: `local-${process.pid}-${randomUUID().slice(0, 8)}`,
      config: {
        // Marketo's hosts, plus the simulator on loopback over plain http (local mode only).
        identityUrlPolicy: {
          allowedHosts: [...DEFAULT_IDENTITY_HOSTS, '127.0.0.1', 'localhost'],
          allowInsecureLoopback: true,
        },
        tokenLifespanSeconds: options.tokenLifespanSeconds ?? 3600,
        ...options.vendorConfig,
      },
    });
    // The Marketo API budget: permits on a budget table beside the token table (same dynalite or endpoint).
    const budgetTableName = env[ENV.budgetTableName] ?? `${tableName}-budget`;
    await createBudgetTable(dynamo, budgetTableName);
    const permits = createPermitService({
      budget: createInstanceBudget(
        {
          store: new DynamoBudgetStore({ client: dynamo, tableName: budgetTableName }),
          clock: systemClock,
          metrics: budgetMetrics(telemetry),
          logger: coreLogger(telemetry.logger),
        },
        // Per-instance limits as in the Lambda (`BUDGET_LIMITS`); the table is always there locally.
        { limits: readBudgetConfig({ ...env, [ENV.budgetTableName]: budgetTableName }).limits },
      ),
      credentials,
    });
    const vend = createVendHandler({ vendor, telemetry, permits });

    await ensurePolicyFile(policyPath);
    const policy = new LocalPolicy(policyPath, {
      onError: (error) =>
        onEvent(`${error.message}: every request is refused until the policy file is valid again`),
    });
    await policy.load();
    const handle = createLocalApiHandler({
      region,
      port,
      limits,
      verifier: createSigV4Verifier({ region, lookupKey: (accessKeyId) => policy.lookup(accessKeyId) }),
      policy,
      vend: (event, context) => vend(event, context),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      onEvent,
    });

    const runSweep = async (): Promise<RefreshSummary> => {
      const summary = await vendor.refreshAll({
        horizonMs: refreshIntervalMs > 0 ? refreshIntervalMs : 60_000,
        concurrency: 8,
      });
      onEvent(
        `refresher: ${summary.clients} client(s), ${summary.fetched} fetched, ${summary.waited} rotated at expiry, ${summary.valid} valid, ${summary.failed} failed`,
      );
      return summary;
    };
    if (refreshIntervalMs > 0) {
      const schedule = (): void => {
        refreshTimer = setTimeout(() => {
          sweep = runSweep()
            .catch((error: unknown) => {
              if (!shutdown.signal.aborted) onEvent(`refresher failed: ${(error as Error).name}`);
            })
            .finally(() => {
              if (!shutdown.signal.aborted) schedule();
            });
        }, refreshIntervalMs);
        refreshTimer.unref();
      };
      schedule();
    }

    await writeRuntimeInfo(dataDir, {
      pid: process.pid,
      dynamoEndpoint: storeEndpoint,
      ...(storeCredentials ? { dynamoCredentials: storeCredentials } : {}),
      tableName,
      credentialsFile: credentialsPath,
      apiUrl: url,
      ...(simulator ? { simulatorUrl: simulator.url } : {}),
    });
    resolveReady(handle);

    return {
      url,
      region,
      ...(simulator ? { simulator } : {}),
      paths: { dataDir, policy: policyPath, credentials: credentialsPath },
      storeEndpoint: dynamoOverride ? storeEndpoint : `dynalite (${files.dynaliteDir})`,
      credentialsSource,
      refreshNow: runSweep,
      stop,
    };
  } catch (error) {
    rejectReady(error);
    await stop();
    throw error;
  }
}
