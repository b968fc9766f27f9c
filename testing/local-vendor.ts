/**
 * Local mode (`startLocalVendor`, what `npm start` runs) as tests and benchmarks start it: free ports, a
 * fresh data directory, the refresher off, no environment from the shell; and a `stop()` that also
 * leak-scans the tokens its simulator issued and removes the data directory.
 *
 *   const local = await startTestLocalVendor({ policy: { keys: [TEAM_KEY] } });
 *   await local.addClient({ clientId: 'team-1', clientSecret: '…' });
 *   …
 *   await local.stop();
 *
 * `local.restart()` starts it again on the same data directory (a test of what survives a restart).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AwsCredentials,
  createSignedCaller,
  realClock,
  type SignedCaller,
} from '../client/signed-call.js';
import { upsertClient } from '../functions/adapters/file-credentials.js';
import type { MarketoSimulator } from '../local/marketo-simulator.js';
import { type PolicyDocument, type PolicyKey, readGeneratedKey, writePolicyFile } from '../local/policy.js';
import {
  LOCAL_POLICY_FILE,
  type LocalVendor,
  type LocalVendorOptions,
  startLocalVendor,
} from '../local/server.js';
import { registerSensitive } from './leak-scan.js';

export interface TestLocalVendorOptions extends LocalVendorOptions {
  /** A policy file written before the start (otherwise local mode generates its key). */
  readonly policy?: PolicyDocument;
  /** Start of the data directory's name under the system's temporary directory. @default 'mtv-local-' */
  readonly dataDirPrefix?: string;
}

export interface TestLocalVendor extends LocalVendor {
  /** The embedded simulator (these starts always have one unless `simulator: false`; throws then). */
  readonly sim: MarketoSimulator;
  /** Registers a Marketo client in the simulator and the credentials file; its secret is leak-scanned. */
  addClient(client: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly instance?: string;
  }): Promise<void>;
  /** The key local mode generated in its policy file (what `npm start` prints). */
  generatedKey(): Promise<PolicyKey>;
  /** Signs calls to this local mode's API with a key of its policy (SigV4, as the client library does). */
  signedCaller(credentials: AwsCredentials): SignedCaller;
  /**
   * Stops local mode, leak-scans the tokens its simulator issued and removes the data directory when this
   * start created it (not a `dataDir` passed in, nor one handed on by {@link restart}).
   */
  stop(): Promise<void>;
  /**
   * Stops local mode (as `stop()` does, but keeping the data directory) and starts it again on the same
   * data directory with the same options; the policy file is not rewritten. The new instance removes the
   * directory on stop if this one would have; this one's `stop()` no longer does.
   */
  restart(): Promise<TestLocalVendor>;
}

/** Starts local mode for a test (see the module comment); `options` override the test defaults. */
export async function startTestLocalVendor(options: TestLocalVendorOptions = {}): Promise<TestLocalVendor> {
  const { policy, dataDirPrefix, ...overrides } = options;
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), dataDirPrefix ?? 'mtv-local-')));
  const ownsDataDir = overrides.dataDir === undefined;
  try {
    if (policy) await writePolicyFile(join(dataDir, LOCAL_POLICY_FILE), policy);
    for (const key of policy?.keys ?? []) registerSensitive(key.secretAccessKey);
    return await startOn({ ...overrides, dataDir }, ownsDataDir);
  } catch (error) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts local mode on `options.dataDir`, which it removes on stop when `ownsDataDir`. */
async function startOn(
  options: LocalVendorOptions & { readonly dataDir: string },
  ownsDataDir: boolean,
): Promise<TestLocalVendor> {
  const local = await startLocalVendor({
    port: 0,
    simulatorPort: 0,
    refreshIntervalMs: 0,
    env: {},
    ...options,
  });
  let owns = ownsDataDir;
  const sim = (): MarketoSimulator => {
    if (!local.simulator) throw new Error('local mode started without its simulator');
    return local.simulator;
  };
  const stopKeepingData = async (): Promise<void> => {
    registerSensitive(...(local.simulator?.issuedTokens() ?? []));
    await local.stop();
  };
  return {
    ...local,
    get sim() {
      return sim();
    },
    async addClient(client) {
      registerSensitive(client.clientSecret);
      sim().addClient({ clientId: client.clientId, clientSecret: client.clientSecret });
      await upsertClient(local.paths.credentials, {
        ...client,
        identityUrl: sim().identityUrl,
      });
    },
    generatedKey: () => readGeneratedKey(local.paths.policy),
    signedCaller: (credentials) =>
      createSignedCaller({
        endpoint: local.url,
        region: local.region,
        credentials,
        fetch: (input, init) => fetch(input, init),
        clock: realClock,
      }),
    async stop() {
      await stopKeepingData();
      if (owns) await rm(options.dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopKeepingData();
      const handedOn = owns;
      owns = false;
      try {
        return await startOn(options, handedOn);
      } catch (error) {
        if (handedOn) await rm(options.dataDir, { recursive: true, force: true });
        throw error;
      }
    },
  };
}
