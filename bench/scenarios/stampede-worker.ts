/**
 * A stampede worker process: holds its own vendor instances (one per consumer, as concurrent Lambdas
 * would) on the parent's dynalite, Secrets Manager stub and simulator, and runs a round on "go".
 */

import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { HttpIdentityClient } from '../../functions/adapters/http-identity-client.js';
import { SecretsManagerCredentials } from '../../functions/adapters/secrets-manager-credentials.js';
import { isTokenVendorError } from '../../functions/core/errors.js';
import { fingerprint } from '../../functions/core/fingerprint.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { SkewableClock } from '../../testing/clocks.js';
import { nowMs } from '../lib/stats.js';
import { BENCH_VENDOR_CONFIG, loopbackClients } from '../lib/world.js';
import type { ConsumerResult, ParentMessage, WorkerMessage } from './stampede-protocol.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

const codeOf = (error: unknown): string =>
  isTokenVendorError(error) ? error.code : error instanceof Error ? error.name : 'Unknown';

let world: ReturnType<typeof connect> | undefined;
let pending: (() => Promise<ConsumerResult[]>) | undefined;

function connect(init: Extract<ParentMessage, { type: 'init' }>) {
  const clock = new SkewableClock();
  const clients = loopbackClients({ dynamo: init.dynamoEndpoint, secrets: init.secretsEndpoint });
  const store = new DynamoTokenStore({ client: clients.dynamo, tableName: init.tableName });
  const identity = new HttpIdentityClient({ now: clock.now });
  return { clock, clients, store, identity, workerIndex: init.workerIndex };
}

function prepare(message: Extract<ParentMessage, { type: 'prepare' }>): () => Promise<ConsumerResult[]> {
  if (!world) throw new Error('worker not initialised');
  const { clock, clients, store, identity, workerIndex } = world;
  clock.offsetMs = message.offsetMs;
  const timed = async (get: () => Promise<{ accessToken: string; source?: string }>) => {
    const start = nowMs();
    try {
      const token = await get();
      return {
        ok: true,
        latencyMs: nowMs() - start,
        tokenFingerprint: fingerprint(token.accessToken),
        ...(token.source === undefined ? {} : { source: token.source }),
      };
    } catch (error) {
      return { ok: false, latencyMs: nowMs() - start, code: codeOf(error) };
    }
  };
  if (message.mode === 'baseline') {
    const credentials = message.credentials;
    if (!credentials) throw new Error('baseline round needs credentials');
    return () =>
      Promise.all(
        Array.from({ length: message.consumers }, () =>
          timed(() => identity.fetchToken(credentials, { timeoutMs: 10_000 })),
        ),
      );
  }
  // Built before "go" so construction cost is not part of the stampede.
  const vendors = Array.from({ length: message.consumers }, (_, i) =>
    createTokenVendor(
      {
        store,
        credentials: new SecretsManagerCredentials({ client: clients.secrets, now: clock.now }),
        identity,
        clock,
        instanceId: `w${workerIndex}-r${message.round}-c${i}`,
      },
      BENCH_VENDOR_CONFIG,
    ),
  );
  return () =>
    Promise.all(
      vendors.map((vendor) => timed(() => vendor.getToken(message.clientId, { maxWaitMs: 25_000 }))),
    );
}

process.on('message', (raw: ParentMessage) => {
  switch (raw.type) {
    case 'init':
      world = connect(raw);
      send({ type: 'ready' });
      return;
    case 'prepare':
      pending = prepare(raw);
      send({ type: 'prepared', round: raw.round });
      return;
    case 'go': {
      const run = pending;
      pending = undefined;
      if (!run) throw new Error('go without prepare');
      void run().then((results) => send({ type: 'result', round: raw.round, results }));
      return;
    }
    case 'exit':
      world?.clients.dynamo.destroy();
      world?.clients.secrets.destroy();
      process.disconnect();
      return;
  }
});
