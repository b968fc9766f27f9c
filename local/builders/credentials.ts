/**
 * Local mode's credentials source: the credentials file under the data directory (seeded with the
 * simulator's demo client; its simulated clients registered with the simulator), or Secrets Manager at the
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` endpoint.
 */
import {
  createCredentialsFileIfMissing,
  FileCredentials,
  upsertClient,
} from '../../functions/adapters/file-credentials.js';
import type { CredentialsSource, Logger } from '../../functions/core/ports.js';
import { privateFileCheck } from '../file-trust.js';
import { DEMO_CLIENT, type MarketoSimulator } from '../marketo-simulator.js';
import { registerSimulatedClients } from '../simulated-clients.js';

/** Options of {@link buildCredentials}. */
export interface LocalCredentialsOptions {
  /** The credentials file (used unless {@link secretsManager} is given). */
  readonly path: string;
  /** Secrets Manager's endpoint, with its secret name prefix. @default the credentials file */
  readonly secretsManager?: { readonly endpoint: string; readonly prefix: string };
  /** The running simulator: the file is seeded with its demo client, and its simulated clients join it. */
  readonly simulator?: MarketoSimulator;
  readonly logger: Logger;
  /** Told when the file was made private again on a reload (others could read it). */
  readonly onEvent?: (message: string) => void;
}

/** A credentials source and where it reads from; `close()` releases its client. */
export interface LocalCredentials {
  readonly source: CredentialsSource;
  /** The file's path or the endpoint, for the banner. */
  readonly location: string;
  close(): Promise<void>;
}

/** Creates the credentials file with the demo client, or keeps its demo entry pointing at the simulator. */
async function seedCredentials(path: string, simulator: MarketoSimulator | undefined): Promise<void> {
  if (!simulator) return;
  const demo = {
    clientId: DEMO_CLIENT.clientId,
    clientSecret: DEMO_CLIENT.clientSecret,
    identityUrl: simulator.identityUrl,
    restUrl: simulator.restUrl,
  };
  if (await createCredentialsFileIfMissing(path, { clients: [demo] })) return;
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

/** Opens the credentials source local mode reads registrations from. */
export async function buildCredentials(options: LocalCredentialsOptions): Promise<LocalCredentials> {
  const { secretsManager } = options;
  if (secretsManager) {
    const [{ SecretsManagerClient }, { SecretsManagerCredentials }] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('../../functions/adapters/secrets-manager-credentials.js'),
    ]);
    const client = new SecretsManagerClient({ endpoint: secretsManager.endpoint });
    return {
      source: new SecretsManagerCredentials({ client, prefix: secretsManager.prefix }),
      location: secretsManager.endpoint,
      close: async () => client.destroy(),
    };
  }
  await seedCredentials(options.path, options.simulator);
  if (options.simulator) {
    // Entries with a simulatedRole (or at the simulator's URL) are simulated Custom Services.
    for (const warning of await registerSimulatedClients(options.path, options.simulator)) {
      options.logger.warn(warning);
    }
  }
  return {
    source: new FileCredentials({
      path: options.path,
      logger: options.logger,
      // Refused when another user owns or can write it, made 0600 when others could read it: each reload.
      verifyFile: privateFileCheck('credentials file', (message) => options.onEvent?.(`warning: ${message}`)),
    }),
    location: options.path,
    close: async () => undefined,
  };
}
