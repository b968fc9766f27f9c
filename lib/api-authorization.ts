import { Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, Dependable } from 'constructs';
import { CLIENT_ID_PATTERN, ID_RULE, INSTANCE_PATTERN } from '../functions/contract/index.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';
import { check } from './vendor-validation.js';

/*
 * Who may call the token API. API Gateway decides an `AWS_IAM` call to an API with a resource policy by
 * its published tables (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction):
 * for a caller in the API's own account, an IAM Allow OR a resource-policy Allow suffices (Table A); for a
 * caller in another account, both are needed (Table B); an explicit Deny anywhere wins. Hence:
 *
 * - The resource policy holds no Allow that covers the vendor's own account. A same-account principal vends
 *   exactly what its IAM policy grants (Table A, "Allow" + "Neither Allow nor Deny" = Allow).
 * - A principal whose IAM policy the stack cannot write (another account's role, an imported immutable role)
 *   gets a resource-policy Allow naming exactly it, on exactly its clients' method ARNs. One in another
 *   account still needs its own account's IAM Allow (Table B).
 * - `allowedAccounts`, `organizationId` and `allowedPrincipals` only restrict: one Deny for every caller that
 *   is outside all of them and outside the vendor's own account.
 * - A grant never widens: it refuses a grantee that stands for more than one role (a wildcard, an
 *   organization, an account, a principal with conditions) and an empty name list; "every client" is its own
 *   grant (`grantVendAll`). A role imported by ARN from another account gets no IAM side in the importing
 *   stack (whose account is not the role's).
 *
 * Proven against those tables by test/infra/authorization.test.ts and grants-that-cannot-widen.test.ts.
 */

const INVOKE = 'execute-api:Invoke';
/** The whole API in API Gateway's abbreviated form, which it expands to this API's ARN when it saves the policy. */
const WHOLE_API = 'execute-api:/*';
const ACCOUNT_ROOT = /^arn:[^:]+:iam::(\d{12}):root$/;

/** Who the resource policy lets past its guard at all, besides the vendor's own account. */
interface CallerGuard {
  readonly accounts: readonly string[];
  readonly organizationId?: string;
  readonly principalArns: readonly string[];
}

/**
 * The guard of each vendor, so a later grant can tell whether the principal it names would pass it. Keyed
 * by the vendor construct (the API's scope): the grant functions receive the API, not the props.
 */
const guards = new WeakMap<Construct, CallerGuard>();

/** The statements of the API's resource policy at construction: Deny guards only, never an Allow. */
export function resourcePolicyStatements(
  scope: Construct,
  props: MarketoTokenVendorProps,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const guard = callerGuard(props);
  guards.set(scope, guard);
  const statements = [
    new iam.PolicyStatement({
      sid: 'DenyCallersOutsideAllowed',
      effect: iam.Effect.DENY,
      actions: [INVOKE],
      principals: [new iam.AnyPrincipal()],
      resources: [WHOLE_API],
      // Keys of one operator must all hold (AND): denied only when outside every list at once.
      conditions: {
        StringNotEquals: {
          'aws:PrincipalAccount': [stack.account, ...guard.accounts],
          ...(guard.organizationId !== undefined ? { 'aws:PrincipalOrgID': guard.organizationId } : {}),
        },
        ...(guard.principalArns.length > 0
          ? { ArnNotEquals: { 'aws:PrincipalArn': guard.principalArns } }
          : {}),
      },
    }),
  ];
  if (props.endpointType === apigateway.EndpointType.PRIVATE) {
    // A private API is reachable from any VPC endpoint in the partition: only the given ones may pass.
    statements.push(
      new iam.PolicyStatement({
        sid: 'DenyOtherVpcEndpoints',
        effect: iam.Effect.DENY,
        actions: [INVOKE],
        principals: [new iam.AnyPrincipal()],
        resources: [WHOLE_API],
        conditions: {
          StringNotEquals: { 'aws:SourceVpce': (props.vpcEndpoints ?? []).map((e) => e.vpcEndpointId) },
        },
      }),
    );
  }
  return statements;
}

function callerGuard(props: MarketoTokenVendorProps): CallerGuard {
  const accounts = [...(props.allowedAccounts ?? [])];
  const principalArns: string[] = [];
  for (const principal of props.allowedPrincipals ?? []) {
    const account = accountPrincipalOf(principal);
    if (account !== undefined) {
      accounts.push(account);
      continue;
    }
    const arns = awsPrincipalsOf(principal);
    check(
      arns.length > 0,
      `allowedPrincipals entries must be IAM roles, users or accounts, got ${JSON.stringify(principal.policyFragment.principalJson)}`,
    );
    principalArns.push(...arns);
  }
  return { accounts, organizationId: props.organizationId, principalArns };
}

/** The `"AWS"` entries of a principal (role, user or account ARNs); none for service or federated ones. */
const awsPrincipalsOf = (principal: iam.IPrincipal): string[] => {
  const json = principal.policyFragment.principalJson;
  const others = Object.keys(json).filter((key) => key !== 'AWS');
  return others.length > 0 ? [] : (json.AWS ?? []);
};

/** Whether a principal stands for a whole account (`AccountPrincipal`, `AccountRootPrincipal`, `…:root`, an id). */
const isAccountPrincipal = (principal: iam.IPrincipal): boolean =>
  principal instanceof iam.AccountPrincipal ||
  awsPrincipalsOf(principal).some(
    (arn) => !Token.isUnresolved(arn) && (ACCOUNT_ROOT.test(arn) || /^\d{12}$/.test(arn)),
  );

/** The account a principal stands for when it is a whole account (`allowedPrincipals` entries). */
const accountPrincipalOf = (principal: iam.IPrincipal): string | undefined => {
  // AccountRootPrincipal's id is a token resolving to the account of the stack it is used in: the API's.
  if (principal instanceof iam.AccountPrincipal) return Token.asString(principal.accountId);
  const arns = awsPrincipalsOf(principal);
  if (arns.length !== 1 || Token.isUnresolved(arns[0])) return undefined;
  return (
    ACCOUNT_ROOT.exec(arns[0] as string)?.[1] ?? (/^\d{12}$/.test(arns[0] as string) ? arns[0] : undefined)
  );
};

/** The account field of a resolved IAM ARN, if any. */
const accountInArn = (arn: string): string | undefined =>
  Token.isUnresolved(arn) ? undefined : /^arn:[^:]+:iam::(\d{12}):/.exec(arn)?.[1];

/** Whether two account strings name the same account as CDK judges it (equal, or both deploy-time). */
const sameAccount = (a: string | undefined, b: string): boolean => {
  if (a === undefined) return false;
  const comparison = Token.compareStrings(a, b);
  return comparison === TokenComparison.SAME || comparison === TokenComparison.BOTH_UNRESOLVED;
};

/** What to grant instead of a principal that stands for more than the roles that need the routes. */
const GRANT_ROLES =
  "grant each role that needs the routes (a role of this stack, or iam.Role.fromRoleArn(this, id, 'arn:aws:iam::<account>:role/<name>') for another account's)";

/**
 * Refuses a grantee that would widen a grant beyond the roles that need it. API Gateway's Table A lets a
 * same-account caller through on a resource-policy Allow alone, so an Allow whose principal matches the
 * vendor's own roles (a wildcard, an organization, the vendor's account) hands them the routes without any
 * IAM permission; a foreign account principal lets that account's administrators choose who vends; a
 * principal's conditions would travel into the resource policy unchecked.
 */
function refuseWideningPrincipal(described: string, principal: iam.IPrincipal): void {
  const fragment = principal.policyFragment;
  const shown = JSON.stringify(fragment.principalJson);
  const conditions = JSON.stringify(fragment.conditions);
  const values = Object.values(fragment.principalJson).flat();
  check(
    !(principal instanceof iam.OrganizationPrincipal) && !conditions.includes('aws:PrincipalOrgID'),
    `${described} cannot name ${shown}: an organization is every role of every account in it, the vendor's own included (a resource-policy Allow gives them the routes without any IAM permission); organizationId only admits (it restricts who may call); ${GRANT_ROLES}`,
  );
  check(
    !values.some((value) => !Token.isUnresolved(value) && value.includes('*')),
    `${described} cannot name ${shown}: a wildcard principal matches roles of the vendor's own account too, which a resource-policy Allow gives the routes without any IAM permission; ${GRANT_ROLES.replace('the routes ', 'them ')}`,
  );
  check(
    Object.keys(fragment.conditions).length === 0,
    `${described} cannot name ${shown} with conditions ${conditions}: conditions on a grant's principal are refused; grant the role itself (admit accounts or an organization with allowedAccounts / organizationId)`,
  );
  check(
    !isAccountPrincipal(principal),
    `${described} cannot name ${shown}: an account principal is every role of that account, chosen by its administrators (for the vendor's own account, a resource-policy Allow gives every one of them the routes without any IAM permission); ${GRANT_ROLES}`,
  );
}

/** The names a grant covers: exactly these, or (only through `grantVendAll…`) every one. */
export type GrantedNames = readonly string[] | 'every';

/** Which grant method asked, for messages: `grantVend`, `grantVendAll`, … */
export interface GrantRequest {
  readonly method: 'grantVend' | 'grantVendInstance' | 'grantVendAll' | 'grantVendAllInstances';
  readonly what: 'clientId' | 'instance';
  readonly names: GrantedNames;
}

/**
 * `execute-api:Invoke` on every route a grant on the names covers (the contract's route table: token,
 * invalidate and the budget's permit routes; `*` for `every`): in the grantee's IAM policy when the stack
 * can write it in the grantee's own account, and the grantee is in the API's account; otherwise (also) in
 * the API's resource policy, naming exactly the grantee and exactly these routes.
 */
export function grantRoutes(
  api: apigateway.RestApi,
  stageName: string,
  grantee: iam.IGrantable,
  request: GrantRequest,
  routes: (name: string) => ReadonlyArray<{ readonly method: string; readonly path: string }>,
): iam.Grant {
  const { method, what, names } = request;
  const plural = what === 'clientId' ? 'client' : 'pool';
  check(
    names === 'every' || names.length > 0,
    `${method}() needs at least one ${what === 'clientId' ? 'client id' : 'instance'}: an empty list (a config that came out empty) would grant every ${plural}. To grant every ${plural}, call ${what === 'clientId' ? 'grantVendAll' : 'grantVendAllInstances'}(grantee)`,
  );
  for (const name of names === 'every' ? [] : names) {
    check(
      Token.isUnresolved(name) || (what === 'clientId' ? CLIENT_ID_PATTERN : INSTANCE_PATTERN).test(name),
      `${what} must be ${ID_RULE}, got "${name}"`,
    );
  }
  const described = `${method}(${names === 'every' ? '' : names.join(', ')})`;
  const principal = grantee.grantPrincipal;
  refuseWideningPrincipal(described, principal);
  const calls = (names === 'every' ? ['*'] : names).flatMap((name) => routes(name));
  const actions = [INVOKE];
  const resourceArns = calls.map((c) => api.arnForExecuteApi(c.method, c.path, stageName));
  const stack = Stack.of(api);
  // An ArnPrincipal knows no account: read it from the ARN (`arn:aws:iam::<account>:role/…`).
  const principalAccount =
    principal.principalAccount ?? awsPrincipalsOf(principal).map(accountInArn).find(Boolean);
  // An IAM policy is written in the stack of the principal's construct. A role imported by ARN lives in the
  // importing stack, whatever account its ARN names: writing there would attach a policy to a role of that
  // name in the importing stack's account (NoSuchEntity, or a same-named local role granted instead).
  const host = Construct.isConstruct(principal) ? Stack.of(principal).account : undefined;
  const iamSideInOwnAccount =
    principalAccount === undefined ||
    host === undefined ||
    Token.isUnresolved(principalAccount) ||
    sameAccount(principalAccount, host);
  const principalGrant = iamSideInOwnAccount
    ? iam.Grant.addToPrincipal({ grantee, actions, resourceArns })
    : undefined;
  const inApiAccount = sameAccount(principal.principalAccount, stack.account);
  // An immutable role (`fromRoleArn(…, { mutable: false })`, `withoutPolicyUpdates()`) reports the statement
  // added while adding it to no policy. A stack's own Role fills its policy's dependable only at synthesis;
  // any other principal that wrote a policy hands back the policy construct at once.
  const wroteIamPolicy =
    principalGrant?.success === true &&
    (iam.Role.isRole(principal) || Dependable.of(principalGrant).dependencyRoots.length > 0);
  if (principalGrant !== undefined && wroteIamPolicy && inApiAccount) return principalGrant;

  check(
    awsPrincipalsOf(principal).length > 0,
    `${described} needs an IAM role or user as grantee (a resource policy can name nothing else), got ${JSON.stringify(principal.policyFragment.principalJson)}`,
  );
  if (
    principalAccount !== undefined &&
    !Token.isUnresolved(principalAccount) &&
    !sameAccount(principalAccount, stack.account)
  ) {
    const guard = guards.get(api.node.scope as Construct);
    const admitted =
      guard !== undefined &&
      (guard.organizationId !== undefined ||
        guard.accounts.includes(principalAccount) ||
        awsPrincipalsOf(principal).some((arn) => guard.principalArns.includes(arn)));
    check(
      admitted,
      `${described} for a principal of account ${principalAccount}, which the API's resource policy denies: add "${principalAccount}" to allowedAccounts (or the principal to allowedPrincipals, or set organizationId); it also needs its own account's IAM allow`,
    );
  }
  // The full ARN would make the API's policy refer to the API itself (a circular dependency).
  const statement = new iam.PolicyStatement({
    actions,
    principals: [principal],
    resources: calls.map((c) => `execute-api:/${stageName}/${c.method}${c.path}`),
  });
  const resourceGrant = iam.Grant.addStatementToResourcePolicy({
    grantee,
    actions,
    resourceArns,
    statement,
    resource: api,
  });
  return principalGrant !== undefined && wroteIamPolicy
    ? principalGrant.combine(resourceGrant)
    : resourceGrant;
}
