import { Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type Construct, Dependable } from 'constructs';
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
 *
 * Proven against those tables by test/infra/authorization.test.ts.
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

/** The account a principal stands for when it is a whole account (`AccountPrincipal`, `…:root`). */
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

/**
 * `execute-api:Invoke` on every route a grant on the name covers (the contract's route table: token,
 * invalidate and the budget's permit routes; `*` with no name): in the
 * grantee's IAM policy when the stack can write it and the grantee is in the API's account; otherwise
 * (also) in the API's resource policy, naming exactly the grantee and exactly these routes.
 */
export function grantRoutes(
  api: apigateway.RestApi,
  stageName: string,
  grantee: iam.IGrantable,
  what: 'clientId' | 'instance',
  names: readonly string[],
  routes: (name: string) => ReadonlyArray<{ readonly method: string; readonly path: string }>,
): iam.Grant {
  for (const name of names) {
    check(
      Token.isUnresolved(name) || (what === 'clientId' ? CLIENT_ID_PATTERN : INSTANCE_PATTERN).test(name),
      `${what} must be ${ID_RULE}, got "${name}"`,
    );
  }
  const calls = (names.length > 0 ? names : ['*']).flatMap((name) => routes(name));
  const actions = [INVOKE];
  const resourceArns = calls.map((c) => api.arnForExecuteApi(c.method, c.path, stageName));
  const principalGrant = iam.Grant.addToPrincipal({ grantee, actions, resourceArns });
  const principal = grantee.grantPrincipal;
  const stack = Stack.of(api);
  const inApiAccount = sameAccount(principal.principalAccount, stack.account);
  // An immutable role (`fromRoleArn(…, { mutable: false })`, `withoutPolicyUpdates()`) reports the statement
  // added while adding it to no policy. A stack's own Role fills its policy's dependable only at synthesis;
  // any other principal that wrote a policy hands back the policy construct at once.
  const wroteIamPolicy =
    principalGrant.success &&
    (iam.Role.isRole(principal) || Dependable.of(principalGrant).dependencyRoots.length > 0);
  if (wroteIamPolicy && inApiAccount) return principalGrant;

  const described = `${what === 'clientId' ? 'grantVend' : 'grantVendInstance'}(${names.length > 0 ? names.join(', ') : 'every name'})`;
  const account = accountPrincipalOf(principal);
  check(
    awsPrincipalsOf(principal).length > 0,
    `${described} needs an IAM role, user or account as grantee (a resource policy can name nothing else), got ${JSON.stringify(principal.policyFragment.principalJson)}`,
  );
  check(
    account === undefined ||
      (!(principal instanceof iam.AccountRootPrincipal) &&
        Token.compareStrings(account, stack.account) === TokenComparison.DIFFERENT),
    `${described} on the API's own account would let every role of the account call those routes; grant the roles that need them instead (the stack writes their IAM policies)`,
  );
  // An ArnPrincipal knows no account: read it from the ARN (`arn:aws:iam::<account>:role/…`).
  const principalAccount =
    account ?? principal.principalAccount ?? awsPrincipalsOf(principal).map(accountInArn).find(Boolean);
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
  return wroteIamPolicy ? principalGrant.combine(resourceGrant) : resourceGrant;
}
