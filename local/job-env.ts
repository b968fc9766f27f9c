/**
 * What a job needs to use the local mode running on a data directory, as the environment variables a deployed
 * job reads (examples/sync-job): the vendor's endpoint and region, an access key the local policy knows (the
 * one `npm start` generated), the Marketo client and the simulator's REST base. `npx marketo-token-vendor
 * local env` prints them and `local exec` runs a command with them.
 */
import { join } from 'node:path';
import { DEMO_CLIENT } from './marketo-simulator.js';
import { generatedKeyOf, readPolicyFile } from './policy.js';
import { readLiveRuntimeInfo } from './runtime-info.js';
import { LOCAL_POLICY_FILE } from './server.js';

/** No local mode runs on the data directory, or its policy no longer lists the generated key. */
export class LocalModeNotReadyError extends Error {
  override readonly name = 'LocalModeNotReadyError';
}

/** The region local mode signs for when its runtime file does not say (files of older versions). */
const DEFAULT_LOCAL_REGION = 'us-east-1';

/** The variables, in the order `local env` prints them. */
export interface LocalJobEnv {
  readonly TOKEN_VENDOR_ENDPOINT: string;
  readonly AWS_REGION: string;
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  /** The simulator's demo client, when local mode runs the simulator. */
  readonly MARKETO_CLIENT_ID?: string;
  /** The simulator's REST base (paths are `/rest/v1/…`), when local mode runs the simulator. */
  readonly MARKETO_REST_URL?: string;
}

/** What a job needs to use the local mode running on `dataDir`; `LocalModeNotReadyError` says what is missing. */
export async function localJobEnv(dataDir: string): Promise<LocalJobEnv> {
  const info = await readLiveRuntimeInfo(dataDir);
  if (info === undefined) {
    throw new LocalModeNotReadyError(
      `local mode is not running on ${dataDir} — start it with npm start (or pass the --data-dir it uses)`,
    );
  }
  const key = await readPolicyFile(join(dataDir, LOCAL_POLICY_FILE)).then(generatedKeyOf, () => undefined);
  if (key === undefined) {
    throw new LocalModeNotReadyError(
      `${join(dataDir, LOCAL_POLICY_FILE)} no longer lists the key local mode generated — export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of a key it lists yourself`,
    );
  }
  return {
    TOKEN_VENDOR_ENDPOINT: info.apiUrl,
    AWS_REGION: info.region ?? DEFAULT_LOCAL_REGION,
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    ...(info.simulatorUrl === undefined
      ? {}
      : { MARKETO_CLIENT_ID: DEMO_CLIENT.clientId, MARKETO_REST_URL: info.simulatorUrl }),
  };
}
