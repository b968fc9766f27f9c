/**
 * A small model of how API Gateway decides an `AWS_IAM`-authorized call to a REST API that has a
 * resource policy, so tests can check a synthesized template against AWS's published rules instead of
 * our own reading of them.
 *
 * Source of the decision tables (Table A: caller in the API owner's account; Table B: caller in another
 * account): "How API Gateway resource policies affect authorization workflow", section "Policy evaluation
 * outcome tables",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction
 * (same text: awsdocs/amazon-api-gateway-developer-guide, doc_source/apigateway-authorization-flow.md).
 *
 * Statement matching follows the IAM policy language: an explicit Deny in a policy wins over its Allows;
 * `*` and `?` wildcards in actions (case-insensitive) and resources; negated condition operators match
 * when the key is absent from the request (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 *
 * One deliberate choice: an account principal (`"AWS": "123456789012"` or `…:root`) is read as matching
 * every identity of that account. IAM calls it "delegation to the account"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), and the
 * API Gateway tables do not say whether, for a same-account caller, it counts as a resource-policy
 * Allow on its own. The widest reading is the safe one for a security test: a design that holds under it
 * holds under the narrower one too.
 *
 * Not modelled (the vendor uses none of them): NotPrincipal, NotResource, SCPs, permission boundaries,
 * session policies, `…IfExists` operators, numeric/date/IP conditions. Using one throws, so a test can
 * never pass by silently ignoring a statement.
 */

/** What one policy says about a request (the tables' row and column headings). */
export type PolicyVerdict = 'Allow' | 'Deny' | 'Neither';
/** The tables' "Resulting behavior". */
export type Decision = 'Allow' | 'ImplicitDeny' | 'ExplicitDeny';

type OneOrMany = string | readonly string[];

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | { readonly AWS?: OneOrMany; readonly Service?: OneOrMany };
  readonly Action?: OneOrMany;
  readonly Resource?: OneOrMany;
  readonly Condition?: Record<string, Record<string, OneOrMany>>;
  readonly NotPrincipal?: unknown;
  readonly NotAction?: unknown;
  readonly NotResource?: unknown;
}

export interface PolicyDocument {
  readonly Statement: readonly PolicyStatement[];
}

/** The authenticated caller: an IAM role (its ARN, as a resource policy names it) and where it lives. */
export interface Caller {
  readonly roleArn: string;
  readonly account: string;
  /** AWS Organizations id of the caller's account; absent when the account is in no organization. */
  readonly orgId?: string;
  /** VPC endpoint the request came through (private APIs). */
  readonly sourceVpce?: string;
}

export interface ApiRequest {
  readonly caller: Caller;
  /** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>` */
  readonly methodArn: string;
}

/** Table A (same account) and Table B (cross account), row by row, as published. */
const TABLE_A: Record<PolicyVerdict, Record<PolicyVerdict, Decision>> = {
  Allow: { Allow: 'Allow', Neither: 'Allow', Deny: 'ExplicitDeny' },
  Neither: { Allow: 'Allow', Neither: 'ImplicitDeny', Deny: 'ExplicitDeny' },
  Deny: { Allow: 'ExplicitDeny', Neither: 'ExplicitDeny', Deny: 'ExplicitDeny' },
};
const TABLE_B: Record<PolicyVerdict, Record<PolicyVerdict, Decision>> = {
  Allow: { Allow: 'Allow', Neither: 'ImplicitDeny', Deny: 'ExplicitDeny' },
  Neither: { Allow: 'ImplicitDeny', Neither: 'ImplicitDeny', Deny: 'ExplicitDeny' },
  Deny: { Allow: 'ExplicitDeny', Neither: 'ExplicitDeny', Deny: 'ExplicitDeny' },
};

/** The tables themselves: `identity` is the caller's IAM policies' verdict, `resource` the API's. */
export function decide(identity: PolicyVerdict, resource: PolicyVerdict, sameAccount: boolean): Decision {
  return (sameAccount ? TABLE_A : TABLE_B)[identity][resource];
}

const list = (value: OneOrMany | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

/** IAM wildcard match: `*` any run of characters (including `/` and `:`), `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

const ACCOUNT_PRINCIPAL = /^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$/;

function principalMatches(principal: PolicyStatement['Principal'], caller: Caller): boolean {
  if (principal === undefined) throw new Error('a resource policy statement needs a Principal');
  if (principal === '*') return true;
  for (const entry of list(principal.AWS)) {
    if (entry === '*') return true;
    const account = ACCOUNT_PRINCIPAL.exec(entry)?.[1];
    if (account !== undefined) {
      if (account === caller.account) return true;
    } else if (entry === caller.roleArn) {
      return true;
    }
  }
  // Service principals never match a SigV4 caller that is an IAM role.
  return false;
}

function contextValue(key: string, caller: Caller): string | undefined {
  switch (key.toLowerCase()) {
    case 'aws:principalorgid':
      return caller.orgId;
    case 'aws:principalaccount':
      return caller.account;
    case 'aws:principalarn':
      return caller.roleArn;
    case 'aws:sourcevpce':
      return caller.sourceVpce;
    default:
      throw new Error(`condition key ${key} is not modelled`);
  }
}

const OPERATORS: Record<string, { negated: boolean; test: (pattern: string, value: string) => boolean }> = {
  StringEquals: { negated: false, test: (p, v) => p === v },
  StringNotEquals: { negated: true, test: (p, v) => p === v },
  StringLike: { negated: false, test: (p, v) => wildcardMatch(p, v) },
  StringNotLike: { negated: true, test: (p, v) => wildcardMatch(p, v) },
  ArnEquals: { negated: false, test: (p, v) => p === v },
  ArnNotEquals: { negated: true, test: (p, v) => p === v },
  ArnLike: { negated: false, test: (p, v) => wildcardMatch(p, v) },
  ArnNotLike: { negated: true, test: (p, v) => wildcardMatch(p, v) },
};

/** Every operator, and every key within it, must hold (AND); the values of one key are OR-ed. */
function conditionsHold(condition: PolicyStatement['Condition'], caller: Caller): boolean {
  for (const [operatorName, keys] of Object.entries(condition ?? {})) {
    const operator = OPERATORS[operatorName];
    if (operator === undefined) throw new Error(`condition operator ${operatorName} is not modelled`);
    for (const [key, patterns] of Object.entries(keys)) {
      const value = contextValue(key, caller);
      const anyMatches = value !== undefined && list(patterns).some((p) => operator.test(p, value));
      // A negated operator holds when the key is absent or no value matches.
      if (operator.negated ? anyMatches : !anyMatches) return false;
    }
  }
  return true;
}

function statementApplies(
  statement: PolicyStatement,
  request: ApiRequest,
  kind: 'identity' | 'resource',
): boolean {
  for (const unsupported of ['NotPrincipal', 'NotAction', 'NotResource'] as const) {
    if (statement[unsupported] !== undefined) throw new Error(`${unsupported} is not modelled`);
  }
  if (kind === 'resource' && !principalMatches(statement.Principal, request.caller)) return false;
  if (kind === 'identity' && statement.Principal !== undefined) {
    throw new Error('an identity policy statement has no Principal');
  }
  const actionMatches = list(statement.Action).some((a) => wildcardMatch(a, 'execute-api:Invoke', true));
  const resourceMatches = list(statement.Resource).some((r) => wildcardMatch(r, request.methodArn));
  return actionMatches && resourceMatches && conditionsHold(statement.Condition, request.caller);
}

/** What a set of policies of one kind says: any matching Deny wins, else any matching Allow, else neither. */
export function verdictOf(
  documents: readonly PolicyDocument[],
  request: ApiRequest,
  kind: 'identity' | 'resource',
): PolicyVerdict {
  const matching = documents.flatMap((d) => d.Statement).filter((s) => statementApplies(s, request, kind));
  if (matching.some((s) => s.Effect === 'Deny')) return 'Deny';
  return matching.some((s) => s.Effect === 'Allow') ? 'Allow' : 'Neither';
}

/** The account that owns an execute-api ARN (its fifth field). */
export const accountOfArn = (arn: string): string => arn.split(':')[4] ?? '';

/** API Gateway's decision for `request`, given the caller's IAM policies and the API's resource policy. */
export function authorize(input: {
  readonly identityPolicies: readonly PolicyDocument[];
  readonly resourcePolicy?: PolicyDocument;
  readonly request: ApiRequest;
}): Decision {
  const identity = verdictOf(input.identityPolicies, input.request, 'identity');
  const resource = input.resourcePolicy
    ? verdictOf([input.resourcePolicy], input.request, 'resource')
    : 'Neither';
  return decide(identity, resource, input.request.caller.account === accountOfArn(input.request.methodArn));
}
