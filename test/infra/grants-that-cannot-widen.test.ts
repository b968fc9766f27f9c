/**
 * Grants that cannot widen (issue 22): a grant names exactly the principals that need the routes, never a
 * wildcard, an organization, a whole account or a conditioned principal; an empty id list is an error, and
 * "every client" is a grant of its own name; a role imported from another account gets only the
 * resource-policy side, never an IAM policy written in the vendor's account.
 *
 * The rules relied on:
 * - API Gateway's decision tables (Table A: same-account caller, an IAM Allow OR a resource-policy Allow
 *   suffices), https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction
 *   — so a resource-policy Allow whose principal matches the vendor's own roles hands them the routes without
 *   any IAM permission.
 * - IAM's Principal element: `"AWS": "*"` is everyone ("anonymous access") and an account principal
 *   (`arn:aws:iam::<account>:root` or the bare id) delegates to every identity of that account,
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 *   (CDK's `AnyPrincipal` renders `{"AWS": "*"}`, `OrganizationPrincipal` `{"AWS": "*"}` with an
 *   `aws:PrincipalOrgID` condition: https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_iam.AnyPrincipal.html).
 * - CDK's `Role.fromRoleArn` is mutable by default ("the role may be modified as part of the deployment",
 *   https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_iam.FromRoleArnOptions.html): in a stack
 *   with no account it cannot tell the ARN's account from its own, and writes an AWS::IAM::Policy naming the
 *   role by name, which CloudFormation attaches to that name in the account it deploys to.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import { roleArnOf, TemplatePolicies } from '../support/template-policies.js';
import {
  ALL_CALLS,
  allowedRoutes,
  CLIENT_A,
  deployment,
  lambdaRole,
  ORG,
  PARTNER_ACCOUNT,
  PARTNER_INVOKE_ANY,
  partner,
  synthesize,
  VENDOR_ACCOUNT,
} from './authorization-world.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

/** A vendor admitting the partner account; `agnostic`: in a stack with no account or region (cdk init's default). */
const vendorIn = (environment: 'vendor-account' | 'agnostic' = 'vendor-account') => {
  const stack = new Stack(appWithoutBundling(), 'Refused', {
    ...(environment === 'agnostic' ? {} : { env: { account: VENDOR_ACCOUNT, region: deployment.region } }),
  });
  return {
    stack,
    vendor: new MarketoTokenVendor(stack, 'Vendor', {
      allowedAccounts: [PARTNER_ACCOUNT],
      organizationId: ORG,
    }),
  };
};

describe('a grant on a principal that stands for more than one role fails synthesis, saying what to grant', () => {
  let vendor: MarketoTokenVendor;
  beforeAll(() => {
    ({ vendor } = vendorIn());
  });
  const partnerRoleArn = `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-sync`;

  it.each([
    ['AnyPrincipal', () => new iam.AnyPrincipal()],
    ['StarPrincipal', () => new iam.StarPrincipal()],
    ["ArnPrincipal('*')", () => new iam.ArnPrincipal('*')],
    [
      'a role ARN with a wildcard name',
      () => new iam.ArnPrincipal(`arn:aws:iam::${PARTNER_ACCOUNT}:role/sync-*`),
    ],
    ['a role ARN with a wildcard account', () => new iam.ArnPrincipal('arn:aws:iam::*:role/partner-sync')],
  ])('refuses %s, a wildcard', (_name, principal) => {
    expect(() => vendor.grantVend(principal(), 'client-a')).toThrow(
      /^grantVend\(client-a\) cannot name .*\*.*: a wildcard principal matches roles of the vendor's own account too, which a resource-policy Allow gives the routes without any IAM permission; grant each role that needs them \(a role of this stack, or iam\.Role\.fromRoleArn\(this, id, 'arn:aws:iam::<account>:role\/<name>'\) for another account's\)$/,
    );
  });

  it('refuses an OrganizationPrincipal, naming organizationId as the way to admit an organization', () => {
    expect(() => vendor.grantVend(new iam.OrganizationPrincipal(ORG), 'client-a')).toThrow(
      /^grantVend\(client-a\) cannot name .*: an organization is every role of every account in it, the vendor's own included.*organizationId only admits \(it restricts who may call\); grant each role that needs the routes/,
    );
  });

  it.each([
    ['AccountPrincipal of another account', () => new iam.AccountPrincipal(PARTNER_ACCOUNT)],
    ['AccountRootPrincipal', () => new iam.AccountRootPrincipal()],
    ['an account root ARN', () => new iam.ArnPrincipal(`arn:aws:iam::${PARTNER_ACCOUNT}:root`)],
    ['a bare account id', () => new iam.ArnPrincipal(PARTNER_ACCOUNT)],
  ])('refuses %s, a whole account', (_name, principal) => {
    expect(() => vendor.grantVend(principal(), 'client-a')).toThrow(
      /^grantVend\(client-a\) cannot name .*: an account principal is every role of that account, chosen by its administrators.*grant each role that needs the routes/,
    );
  });

  it('refuses a principal carrying conditions, which the grant cannot check against the routes', () => {
    const conditioned = new iam.ArnPrincipal(partnerRoleArn).withConditions({
      StringEquals: { 'aws:PrincipalTag/team': 'sync' },
    });
    expect(() => vendor.grantVendInstance(conditioned, '123-ABC-456')).toThrow(
      /^grantVendInstance\(123-ABC-456\) cannot name .* with conditions .*aws:PrincipalTag\/team.*: conditions on a grant's principal are refused; grant the role itself/,
    );
  });

  it('refuses the packaged stack\'s vendGrants entry with principalArn "*"', () => {
    expect(
      () =>
        new TokenVendorStack(appWithoutBundling(), 'Packaged', {
          env: { account: VENDOR_ACCOUNT, region: deployment.region },
          vendor: { allowedAccounts: [PARTNER_ACCOUNT] },
          vendGrants: [{ principalArn: '*', clientIds: ['client-a'] }],
        }),
    ).toThrow(/^grantVend\(client-a\) cannot name \{"AWS":\["\*"\]\}: a wildcard principal/);
  });
});

describe('an id list that came out empty', () => {
  let vendor: MarketoTokenVendor;
  let stack: Stack;
  beforeAll(() => {
    ({ vendor, stack } = vendorIn());
  });

  it('fails grantVend, naming grantVendAll as the grant on every client', () => {
    const ids: string[] = [];
    expect(() => vendor.grantVend(lambdaRole(stack, 'EmptyList'), ...ids)).toThrow(
      'grantVend() needs at least one client id: an empty list (a config that came out empty) would grant every client. To grant every client, call grantVendAll(grantee)',
    );
  });

  it('fails grantVendInstance, naming grantVendAllInstances as the grant on every pool', () => {
    expect(() => vendor.grantVendInstance(lambdaRole(stack, 'EmptyPools'))).toThrow(
      'grantVendInstance() needs at least one instance: an empty list (a config that came out empty) would grant every pool. To grant every pool, call grantVendAllInstances(grantee)',
    );
  });
});

describe('grantVendAll and grantVendAllInstances, the grants on every client and every pool', () => {
  let policies: TemplatePolicies;
  const inStack = (prefix: string) => {
    const logicalId = policies.roleId(prefix);
    return {
      caller: { roleArn: roleArnOf(deployment, logicalId), account: VENDOR_ACCOUNT },
      identityPolicies: policies.identityPolicies({ logicalId }),
    };
  };
  beforeAll(() => {
    policies = synthesize({}, (vendor, stack) => {
      vendor.grantVendAll(lambdaRole(stack, 'EveryClient'));
      vendor.grantVendAllInstances(lambdaRole(stack, 'EveryPool'));
    });
  });

  it('let a same-account role call every client route and no pool route', () => {
    expect(allowedRoutes(policies, inStack('EveryClient'))).toEqual(
      ALL_CALLS.filter((call) => !call.startsWith('instance')),
    );
  });

  it('let a same-account role call every pool route and no client route', () => {
    expect(allowedRoutes(policies, inStack('EveryPool'))).toEqual(
      ALL_CALLS.filter((call) => call.startsWith('instance')),
    );
  });
});

describe("a role of another account imported by ARN into a stack with no account set (cdk init's default)", () => {
  const partnerArn = `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-sync`;
  let template: Template;
  let policies: TemplatePolicies;
  beforeAll(() => {
    const { stack, vendor } = vendorIn('agnostic');
    vendor.grantVend(iam.Role.fromRoleArn(stack, 'PartnerSync', partnerArn), 'client-a');
    template = Template.fromStack(stack);
    // The account the stack deploys to is the vendor's: the template must mean the same there as anywhere.
    policies = new TemplatePolicies(template.toJSON(), deployment);
  });

  it('writes no IAM policy into the account the vendor deploys to', () => {
    const written = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('partner-sync'),
    );
    expect(written).toEqual([]);
  });

  it('gives a same-named role of the vendor’s own account nothing', () => {
    const localNamesake = {
      caller: {
        roleArn: `arn:aws:iam::${VENDOR_ACCOUNT}:role/partner-sync`,
        account: VENDOR_ACCOUNT,
        orgId: ORG,
      },
      identityPolicies: policies.identityPolicies({ importedName: 'partner-sync' }),
    };
    expect(allowedRoutes(policies, localNamesake)).toEqual([]);
  });

  it('lets the partner role, with its own account’s IAM allow, vend exactly client-a', () => {
    expect(allowedRoutes(policies, partner('partner-sync', [PARTNER_INVOKE_ANY]))).toEqual(CLIENT_A);
  });
});
