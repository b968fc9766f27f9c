/**
 * The world of the authorization tests: the accounts, one imagined deployment, every call a consumer could
 * make, principals outside the stack with the IAM policies their accounts give them, and the question the
 * tests ask of API Gateway's decision tables (test/support/apigw-authz-evaluator.ts): which calls may this
 * principal make on the stack behind this template?
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { routePath, routesGrantedBy } from '../../functions/contract/index.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { authorize, type Caller, type PolicyDocument } from '../support/apigw-authz-evaluator.js';
import { type Deployment, methodArnOf, TemplatePolicies } from '../support/template-policies.js';
import { appWithoutBundling } from './helpers.js';

export const VENDOR_ACCOUNT = '111111111111';
export const PARTNER_ACCOUNT = '222222222222';
export const OUTSIDER_ACCOUNT = '333333333333';
export const ORG = 'o-abcdefghij';
export const OTHER_ORG = 'o-zzzzzzzzzz';
export const deployment: Deployment = { account: VENDOR_ACCOUNT, region: 'eu-west-1', apiId: 'a1b2c3d4e5' };
export const STAGE = 'v1';

type Calls = ReadonlyMap<string, { readonly method: string; readonly path: string }>;

/** The calls a grant on these clients and pools covers, named `<route kind> <name>`, from the route table. */
const callsOf = (clientIds: readonly string[], instances: readonly string[]): Calls =>
  new Map(
    [
      ...clientIds.flatMap((id) => routesGrantedBy('client').map((route) => [route, id] as const)),
      ...instances.flatMap((name) => routesGrantedBy('instance').map((route) => [route, name] as const)),
    ].map(([route, name]) => [
      `${route.kind} ${name}`,
      { method: route.method, path: routePath(route, name) },
    ]),
  );

/**
 * Every call a consumer could make, named `<route kind> <name>` (`token client-a`, `instance-invalidate
 * 123-ABC-456`), built from the contract's route table so a new route is covered without editing this file.
 */
export const CALLS: Calls = callsOf(['client-a', 'client-b'], ['123-ABC-456', '999-XYZ-000']);
export const ALL_CALLS = [...CALLS.keys()];
// A client grant covers its token and invalidate routes, the budget's permit routes (issue 16) and the Bulk
// API slot routes (issue 27).
export const clientRoutes = (id: string): string[] =>
  [
    'token',
    'invalidate',
    'permit',
    'permit-release',
    'bulk-slot',
    'bulk-slot-renew',
    'bulk-slot-release',
  ].map((kind) => `${kind} ${id}`);
export const CLIENT_A = clientRoutes('client-a');
/** What a grant on the pool 123-ABC-456 covers. */
export const POOL_ROUTES = [
  'instance-token',
  'instance-invalidate',
  'instance-permit',
  'instance-permit-release',
  'instance-bulk-slot',
  'instance-bulk-slot-renew',
  'instance-bulk-slot-release',
].map((kind) => `${kind} 123-ABC-456`);

export const allow = (actions: string, resources: string | string[]): PolicyDocument => ({
  Statement: [{ Effect: 'Allow', Action: actions, Resource: resources }],
});
/** What an AdministratorAccess-like policy says: every action on every resource. */
export const ADMINISTRATOR_ACCESS = allow('*', '*');
/** What a partner account's administrator gives its role: the whole vendor API (per-client scoping is ours). */
export const PARTNER_INVOKE_ANY = allow('execute-api:Invoke', `arn:aws:execute-api:*:${VENDOR_ACCOUNT}:*`);

export interface Principal {
  readonly caller: Caller;
  readonly identityPolicies: readonly PolicyDocument[];
}

/** A role outside the stack (another account's, or an administrator's), with the IAM policies its account gives it. */
export const partner = (
  name: string,
  identityPolicies: PolicyDocument[],
  account = PARTNER_ACCOUNT,
  orgId = ORG,
): Principal => ({
  caller: { roleArn: `arn:aws:iam::${account}:role/${name}`, account, orgId },
  identityPolicies,
});

/**
 * The calls of {@link CALLS} (or of the given clients' routes) API Gateway lets `principal` make on the stack
 * behind `policies`.
 */
export const allowedRoutes = (
  policies: TemplatePolicies,
  principal: Principal,
  clientIds?: readonly string[],
): string[] => {
  const calls = clientIds === undefined ? CALLS : callsOf(clientIds, []);
  return [...calls.entries()]
    .filter(([, call]) => {
      const methodArn = methodArnOf(deployment, STAGE, call.method, call.path);
      const decision = authorize({
        identityPolicies: principal.identityPolicies,
        resourcePolicy: policies.resourcePolicy(),
        request: { caller: principal.caller, methodArn },
      });
      return decision === 'Allow';
    })
    .map(([name]) => name);
};

export const synthesize = (
  props: MarketoTokenVendorProps,
  grant: (vendor: MarketoTokenVendor, stack: Stack) => void,
) => {
  const stack = new Stack(appWithoutBundling(), 'Authz', {
    env: { account: VENDOR_ACCOUNT, region: deployment.region },
  });
  const vendor = new MarketoTokenVendor(stack, 'Vendor', props);
  grant(vendor, stack);
  return new TemplatePolicies(Template.fromStack(stack).toJSON(), deployment);
};

export const lambdaRole = (stack: Stack, id: string): iam.Role =>
  new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
