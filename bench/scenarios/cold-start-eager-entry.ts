/**
 * Reference for scenario 4, the "before": the vend handler with both SDK clients constructed at
 * import, as a handler that builds its clients at module level would (the approach the lazy loading replaced).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export { handler } from '../../functions/vend.js';

/** Built at import, never used: only their start-up cost matters. */
export const eagerClients = [new DynamoDBClient({}), new SecretsManagerClient({})];
