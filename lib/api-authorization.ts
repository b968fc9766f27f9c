import { Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';
import { check, NAME_PATTERN } from './vendor-validation.js';

/** The statements of the API's resource policy (who may call at all; what each may vend is the IAM side). */
export function resourcePolicyStatements(
  scope: Construct,
  props: MarketoTokenVendorProps,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const configured =
    (props.allowedAccounts?.length ?? 0) > 0 ||
    props.organizationId !== undefined ||
    (props.allowedPrincipals?.length ?? 0) > 0;
  const principals: iam.IPrincipal[] = [
    ...(configured ? (props.allowedAccounts ?? []) : [stack.account]).map(
      (account) => new iam.AccountPrincipal(account),
    ),
    ...(props.allowedPrincipals ?? []),
  ];
  const statements: iam.PolicyStatement[] = [];
  if (principals.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowConfiguredCallers',
        actions: ['execute-api:Invoke'],
        principals,
        resources: ['execute-api:/*'],
      }),
    );
  }
  if (props.organizationId !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowOrganization',
        actions: ['execute-api:Invoke'],
        principals: [new iam.AnyPrincipal()],
        resources: ['execute-api:/*'],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
      }),
    );
  }
  if (props.endpointType === apigateway.EndpointType.PRIVATE) {
    // A private API is reachable from any VPC endpoint in the partition: only the given ones may pass.
    statements.push(
      new iam.PolicyStatement({
        sid: 'DenyOtherVpcEndpoints',
        effect: iam.Effect.DENY,
        actions: ['execute-api:Invoke'],
        principals: [new iam.AnyPrincipal()],
        resources: ['execute-api:/*'],
        conditions: {
          StringNotEquals: { 'aws:SourceVpce': (props.vpcEndpoints ?? []).map((e) => e.vpcEndpointId) },
        },
      }),
    );
  }
  return statements;
}

/** `execute-api:Invoke` on one GET route and its POST invalidate route per name (`*` with none). */
export function grantRoutes(
  api: apigateway.RestApi,
  stageName: string,
  grantee: iam.IGrantable,
  what: 'clientId' | 'instance',
  names: readonly string[],
  routes: (name: string) => [get: string, invalidate: string],
): iam.Grant {
  for (const name of names) {
    check(
      Token.isUnresolved(name) || NAME_PATTERN.test(name),
      `${what} must be 1-128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "${name}"`,
    );
  }
  const resourceArns = (names.length > 0 ? names : ['*']).flatMap((name) => {
    const [get, invalidate] = routes(name);
    return [api.arnForExecuteApi('GET', get, stageName), api.arnForExecuteApi('POST', invalidate, stageName)];
  });
  return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns });
}
