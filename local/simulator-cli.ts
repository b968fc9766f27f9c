/**
 * `npm run simulator`: a Marketo Identity + REST simulator on 127.0.0.1 with the demo client, for
 * trying the vendor or a consumer by hand. Only the demo secret (a public value) is ever printed.
 */
import { Command, InvalidArgumentError } from 'commander';
import { MARKETO_LIMITS } from './marketo-limits.js';
import { createMarketoSimulator, DEMO_CLIENT } from './marketo-simulator.js';

const nonNegativeInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

const program = new Command('simulator')
  .description('Marketo Identity and REST simulator on 127.0.0.1 with a demo client')
  .option('--port <port>', 'port to listen on (0: any free port)', nonNegativeInteger, 8788)
  .option('--lifespan <seconds>', 'lifespan of a new token', nonNegativeInteger, 3600)
  .option('--latency <ms>', 'latency added to every Identity answer', nonNegativeInteger, 0)
  .option(
    '--expiry-edge <ms>',
    'how long after expiry Identity still returns the dead token',
    nonNegativeInteger,
    0,
  )
  .option('--no-limits', "answer every REST call (no 606/615/607 at Marketo's limits)")
  .parse();

const options = program.opts<{
  port: number;
  lifespan: number;
  latency: number;
  expiryEdge: number;
  limits: boolean;
}>();

const simulator = createMarketoSimulator({
  clients: [DEMO_CLIENT],
  port: options.port,
  tokenLifespanSeconds: options.lifespan,
  latencyMs: options.latency,
  expiryEdgeMs: options.expiryEdge,
  ...(options.limits ? { limits: true as const } : {}),
});
await simulator.start();

const form = `grant_type=client_credentials&client_id=${DEMO_CLIENT.clientId}&client_secret=${DEMO_CLIENT.clientSecret}`;
console.log(`Marketo simulator listening on ${simulator.url}`);
console.log(`Identity URL: ${simulator.identityUrl}`);
console.log(`REST URL:     ${simulator.restUrl}`);
console.log(`Demo client:  ${DEMO_CLIENT.clientId} (demo secret: ${DEMO_CLIENT.clientSecret})`);
const { callsPerWindow, windowMs, concurrentCalls, dailyQuota } = MARKETO_LIMITS;
console.log(
  options.limits
    ? `Limits:       Marketo's on REST: ${callsPerWindow} calls per ${windowMs / 1000} s (606), ${concurrentCalls} at once (615), ${dailyQuota.toLocaleString('en-US')} a day (607); --no-limits turns them off`
    : 'Limits:       off (--no-limits): every REST call is answered',
);
console.log('');
console.log('Get a token:');
console.log(`  curl -s -X POST ${simulator.identityUrl}/oauth/token -d '${form}'`);
console.log('Call REST with it:');
console.log(
  `  curl -s -H "Authorization: Bearer <access_token>" '${simulator.restUrl}/rest/v1/leads.json?filterType=id&filterValues=1,2'`,
);
console.log('Ctrl-C to stop.');

let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await simulator.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
