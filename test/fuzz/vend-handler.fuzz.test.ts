/**
 * Property-based bad input for the vend handler: generated API Gateway events on every route of the
 * contract's table (a new row is fuzzed without touching this file) and off it, and direct-invoke payloads,
 * against an in-memory vendor with the Marketo API budget wired. Seeded and reproducible:
 * `FUZZ_SEED=<n> npx vitest run test/fuzz`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBudgetStore } from '../../functions/adapters/memory-budget-store.js';
import {
  ERROR_CODES,
  ROUTES,
  type Route,
  routeByResource,
  routePath,
} from '../../functions/contract/index.js';
import { createInstanceBudget } from '../../functions/core/budget/index.js';
import { systemClock } from '../../functions/core/clock.js';
import { createTokenVendor } from '../../functions/core/token-vendor.js';
import { createPermitService } from '../../functions/http/permit-request.js';
import { createVendHandler } from '../../functions/vend.js';
import { FakeIdentity, MemoryCredentials, testCredentials } from '../../testing/fake-identity.js';
import { findLeaks } from '../../testing/leak-scan.js';
import { MemoryTokenStore } from '../../testing/memory-token-store.js';
import { lambdaContext } from '../support/api-event.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
const API_RUNS = Number(process.env.FUZZ_API_RUNS ?? 10_000);
const DIRECT_RUNS = Number(process.env.FUZZ_DIRECT_RUNS ?? 2_000);
const REGISTERED = ['client-a', 'Client.B_9', '0', `z${'9'.repeat(127)}`];
/** A pool of two registered clients, so the instance routes serve too. */
const POOL = 'pool-a';
const RESOURCES = ROUTES.map((route) => route.resource);
const CODES: ReadonlySet<string> = new Set(ERROR_CODES);
/** What an error body may carry beyond code and message, by code (a permit's exact wait and why). */
const DETAILS: Readonly<Record<string, readonly string[]>> = {
  PermitUnavailable: ['reason', 'retryAfterMs'],
};

const records = REGISTERED.map((clientId, i) => ({
  ...testCredentials(clientId),
  ...(i < 2 ? { instance: POOL } : {}),
}));
const identity = new FakeIdentity(systemClock, records);
// Quiet telemetry: the fuzz inputs are not secrets, and 12,000 warning lines would only slow the run.
const logger = new Logger({ serviceName: 'fuzz', logLevel: 'ERROR' });
const telemetry = {
  logger,
  metrics: new Metrics({ namespace: 'MarketoTokenVendor', serviceName: 'fuzz', logger }),
};
const credentials = new MemoryCredentials(records);
const vendor = createTokenVendor({ store: new MemoryTokenStore(), credentials, identity });
const permits = createPermitService({
  budget: createInstanceBudget({ store: new MemoryBudgetStore(), clock: systemClock }),
  credentials,
});
const handler = createVendHandler({ vendor, telemetry, maxWaitMs: 5_000, permits });
const sensitive = (): Set<string> => new Set([...records.map((r) => r.clientSecret), ...identity.issued]);

const stats = {
  api: new Map<number, number>(),
  /** 2xx answers by route kind: every row of the table should be served, not only refused. */
  served: new Map<string, number>(),
  direct: { tokens: 0, errors: new Map<string, number>() },
};
const fiveXx = (): number => [...stats.api].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);

afterAll(() => {
  const api = [...stats.api].sort(([a], [b]) => a - b).map(([s, c]) => `${s}: ${c}`);
  const errors = [...stats.direct.errors].map(([code, c]) => `${code}: ${c}`);
  const served = [...stats.served].map(([kind, c]) => `${kind}: ${c}`);
  console.log(
    `fuzz seed ${SEED}: API statuses {${api.join(', ')}}, 5xx ${fiveXx()}, served by route {${served.join(', ')}}; direct tokens ${stats.direct.tokens}, errors {${errors.join(', ')}}`,
  );
});

// --- generators -------------------------------------------------------------------------------------

const NASTY_STRINGS = [
  '',
  ' ',
  '.',
  '..',
  '../../etc/passwd',
  '..%2F..%2Fclient-a',
  'client-a/../Client.B_9',
  'client-a%00',
  'client-a\u0000',
  'client-a\r\nX-Injected: 1',
  '\u202eclient-a',
  'ｃｌｉｅｎｔ-ａ',
  'clïent-a',
  '💥',
  '\ud800',
  'a'.repeat(129),
  'x'.repeat(10_000),
  '__proto__',
  'constructor',
  '{clientId}',
  '$(whoami)',
  "'; DROP TABLE tokens; --",
];

const clientIdArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REGISTERED, POOL) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 3_000 }) },
);

const numberishArb = fc.oneof(
  fc.constantFrom('0', '1', '20', '60', '3500', '3501', '5', '6', '-1', '1e3', '0x10', 'NaN', 'Infinity'),
  fc.constantFrom('', ' 5', '1.5', '9999999', '99999999', '٣', '\u0000'),
  fc.integer().map(String),
  fc.string({ maxLength: 12 }),
);

const queryArb = fc.option(
  fc.dictionary(
    fc.oneof(fc.constantFrom('minValidity', 'maxWaitSeconds', '__proto__', 'constructor'), fc.string()),
    numberishArb,
    { maxKeys: 4 },
  ),
  { nil: null },
);

const tokenArb = fc.oneof(
  fc.constant(identity.issued[0] ?? 'not-issued-yet'),
  fc.string({ maxLength: 60 }),
  fc.constant('a'.repeat(5_000)),
);

const jsonBodyArb = fc.oneof(
  fc
    .record({ accessToken: fc.oneof(tokenArb, fc.jsonValue()) }, { requiredKeys: [] })
    .map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom('{"accessToken":null}', '[]', 'null', '"x"', '{', '{"__proto__":{"accessToken":"x"}}'),
  fc.constant(JSON.stringify({ accessToken: 'y'.repeat(9_000) })),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Permit bodies, valid and not (no wait above 0 ms: a full budget answers at once). */
const permitBodyArb = fc
  .record(
    {
      count: fc.oneof(fc.integer({ min: -1, max: 12 }), fc.constantFrom('2', 1.5, null)),
      leaseMs: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(-1, '5', null)),
      maxWaitMs: fc.constantFrom(0, -1, 'x', 1.5, 20_001, null),
      concurrency: fc.oneof(fc.boolean(), fc.constantFrom('yes', 0, null)),
      release: fc.oneof(fc.uuid(), fc.constantFrom('unmetered', 'not-a-permit', 7)),
      permitId: fc.oneof(fc.uuid(), fc.constantFrom('unmetered', 'not-a-permit', 7)),
      marketoError: fc.constantFrom('606', '607', '615', 606, '601', '', null),
      unexpected: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((b) => JSON.stringify(b));

const bodyArb = fc.oneof(
  { weight: 3, arbitrary: jsonBodyArb.map((body) => ({ body, isBase64Encoded: false })) },
  { weight: 2, arbitrary: permitBodyArb.map((body) => ({ body, isBase64Encoded: false })) },
  {
    weight: 1,
    arbitrary: jsonBodyArb.map((body) => ({
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    })),
  },
  { weight: 1, arbitrary: fc.string().map((body) => ({ body, isBase64Encoded: true })) },
  {
    weight: 1,
    arbitrary: fc.constant({ body: null, isBase64Encoded: fc.sample(fc.boolean(), 1)[0] ?? false }),
  },
);

const requestContextArb = fc.oneof(
  fc.constant<'missing'>('missing'),
  fc.constant(null),
  fc.constant({}),
  fc.record({
    identity: fc.oneof(fc.constant(null), fc.record({ userArn: fc.oneof(fc.string(), fc.constant(null)) })),
  }),
  fc.constant({ identity: { userArn: 'arn:aws:iam::111122223333:role/consumer', caller: 'AROAEXAMPLE' } }),
);

const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'POST') },
  { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'OPTIONS', 'HEAD', 'get', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const resourceArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...RESOURCES) },
  { weight: 1, arbitrary: fc.constantFrom('/', '/{proxy+}', '/tokens', '/tokens/{clientId}/') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

/** Where a generated event goes: a route of the table, or a method and resource the table may not have. */
type Target =
  | { readonly route: Route }
  | { readonly route?: undefined; readonly method: string; readonly resource: string };

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROUTES).map((route) => ({ route })) },
  {
    weight: 2,
    arbitrary: fc.tuple(methodArb, resourceArb).map(([method, resource]) => ({ method, resource })),
  },
);

/** Method, resource, the path API Gateway passes (filled with `name`) and the path parameter's name. */
const addressOf = (target: Target, name: string) =>
  target.route
    ? { ...target.route, path: routePath(target.route, name) }
    : {
        method: target.method,
        resource: target.resource,
        path: target.resource.replace(/\{[^}]*\}/g, () => name),
        pathParameter: 'clientId',
      };

const apiEventArb = fc
  .record({
    target: targetArb,
    clientId: clientIdArb,
    pathKind: fc.oneof(
      { weight: 6, arbitrary: fc.constant('route') },
      { weight: 1, arbitrary: fc.constantFrom('both', 'clientId', 'instance', 'null', 'empty') },
    ),
    rawPath: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
    query: queryArb,
    body: bodyArb,
    requestContext: requestContextArb,
    headers: fc.option(
      fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
      {
        nil: null,
      },
    ),
  })
  .map((g): APIGatewayProxyEvent => {
    const name = g.clientId;
    const address = addressOf(g.target, name);
    const pathParameters =
      g.pathKind === 'null'
        ? null
        : g.pathKind === 'empty'
          ? {}
          : g.pathKind === 'route'
            ? { [address.pathParameter]: name }
            : g.pathKind === 'both'
              ? { clientId: name, instance: name }
              : { [g.pathKind]: name };
    const event: Record<string, unknown> = {
      httpMethod: address.method,
      resource: address.resource,
      path: g.rawPath ?? address.path,
      pathParameters,
      queryStringParameters: g.query,
      multiValueQueryStringParameters: null,
      headers: g.headers,
      multiValueHeaders: null,
      body: g.body.body,
      isBase64Encoded: g.body.isBase64Encoded,
      stageVariables: null,
    };
    if (g.requestContext !== 'missing') event.requestContext = g.requestContext;
    return event as unknown as APIGatewayProxyEvent;
  });

const directPayloadArb = fc.oneof(
  { weight: 2, arbitrary: fc.jsonValue() },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        clientId: fc.oneof({ weight: 4, arbitrary: clientIdArb }, { weight: 1, arbitrary: fc.jsonValue() }),
        instance: fc.oneof(clientIdArb, fc.jsonValue()),
        minValidity: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 0, max: 3_600 }) },
          {
            weight: 1,
            arbitrary: fc.oneof(fc.integer(), fc.double(), numberishArb, fc.constant(null), fc.jsonValue()),
          },
        ),
        maxWaitSeconds: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }) },
          {
            weight: 1,
            arbitrary: fc.oneof(fc.integer({ min: -5, max: 30 }), numberishArb, fc.constant(null)),
          },
        ),
        action: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('getToken', 'invalidate') },
          { weight: 1, arbitrary: fc.oneof(fc.string(), fc.jsonValue()) },
        ),
        accessToken: fc.oneof(tokenArb, fc.jsonValue()),
      },
      { requiredKeys: ['clientId'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      { clientId: clientIdArb, instance: clientIdArb, minValidity: fc.jsonValue(), action: fc.jsonValue() },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, undefined, 0, '', 'client-a', [], [{ clientId: 'client-a' }]),
  },
);

// --- properties -------------------------------------------------------------------------------------

const describeEvent = (event: unknown): string => {
  try {
    return JSON.stringify(event).slice(0, 500);
  } catch {
    return String(event);
  }
};

describe(`vend handler fuzzing (seed ${SEED})`, () => {
  it(`answers ${API_RUNS} generated API Gateway events with 2xx or 4xx, no-store and the error shape`, async () => {
    await fc.assert(
      fc.asyncProperty(apiEventArb, async (event) => {
        let result: APIGatewayProxyResult;
        try {
          result = (await handler(event, lambdaContext())) as APIGatewayProxyResult;
        } catch (error) {
          throw new Error(`handler threw ${String(error)} for ${describeEvent(event)}`);
        }
        stats.api.set(result.statusCode, (stats.api.get(result.statusCode) ?? 0) + 1);
        expect(typeof result.statusCode, describeEvent(event)).toBe('number');
        const ok = result.statusCode >= 200 && result.statusCode < 300;
        const kind = routeByResource(event.httpMethod, event.resource)?.kind;
        if (ok && kind) stats.served.set(kind, (stats.served.get(kind) ?? 0) + 1);
        const clientError = result.statusCode >= 400 && result.statusCode < 500;
        expect(ok || clientError, `status ${result.statusCode} for ${describeEvent(event)}`).toBe(true);
        expect(result.headers?.['Cache-Control']).toBe('no-store');
        const body = JSON.parse(result.body) as Record<string, unknown>;
        if (!ok) {
          expect(Object.keys(body)).toEqual(['error']);
          const error = body.error as Record<string, unknown>;
          expect(Object.keys(error).sort()).toEqual(
            ['code', 'message', ...(DETAILS[String(error.code)] ?? [])].sort(),
          );
          expect(CODES.has(String(error.code))).toBe(true);
          expect(typeof error.message).toBe('string');
          expect(findLeaks([{ file: 'fuzz-api', text: result.body }], sensitive())).toEqual([]);
        }
      }),
      { seed: SEED, numRuns: API_RUNS },
    );
    expect(fiveXx()).toBe(0);
  });

  it(`answers ${DIRECT_RUNS} generated direct-invoke payloads with a token or a stable error code`, async () => {
    await fc.assert(
      fc.asyncProperty(directPayloadArb, async (payload) => {
        try {
          const result = (await handler(payload as never, lambdaContext())) as unknown as Record<
            string,
            unknown
          >;
          expect(typeof result.accessToken, describeEvent(payload)).toBe('string');
          stats.direct.tokens += 1;
        } catch (error) {
          const name = error instanceof Error ? error.name : String(error);
          stats.direct.errors.set(name, (stats.direct.errors.get(name) ?? 0) + 1);
          expect(CODES.has(name) && name !== 'InternalError', `${name} for ${describeEvent(payload)}`).toBe(
            true,
          );
          const message = error instanceof Error ? error.message : '';
          expect(findLeaks([{ file: 'fuzz-direct', text: message }], sensitive())).toEqual([]);
        }
      }),
      { seed: SEED + 1, numRuns: DIRECT_RUNS },
    );
  });
});
