/**
 * What a benchmark worker's vend "Lambda" is built from, beside its loopback API (loopback-vend-api.ts): a
 * DynamoDB client of the shared dynalite, registered credentials that all point at the simulated instance,
 * and a token engine that is never asked (the loopback API answers token requests itself).
 */
import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientCredentials, CredentialsSource } from '../../functions/core/ports.js';
import type { TokenVendor } from '../../functions/core/token-vendor-api.js';

/** A DynamoDB client of the benchmark's dynalite, with keep-alive sockets for many requests at once. */
export const benchDynamoClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 2,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
  });

/** Custom Services of one simulated instance (their instance key is its REST host). */
export const benchCredentials = (instance: {
  readonly identityUrl: string;
  readonly restUrl: string;
  readonly clientIds: readonly string[];
}): CredentialsSource => ({
  get: async (clientId): Promise<ClientCredentials> => ({
    clientId,
    clientSecret: 'bench-secret',
    identityUrl: instance.identityUrl,
    restUrl: instance.restUrl,
  }),
  list: async () => instance.clientIds.map((clientId) => ({ clientId })),
});

const noTokens = (): Promise<never> => Promise.reject(new Error('tokens are served by the loopback API'));

/** The token engine of a worker: never reached, the loopback API answers token requests itself. */
export const NO_TOKEN_VENDOR: TokenVendor = {
  getToken: noTokens,
  invalidate: noTokens,
  getInstanceToken: noTokens,
  invalidateInstance: noTokens,
  refreshAll: noTokens,
  refreshDue: noTokens,
};
