/**
 * Who can vend which client's token on the deployed API, decided by API Gateway's published rules for
 * `AWS_IAM` methods with a resource policy (Table A: caller in the API's account, IAM allow OR resource
 * policy allow suffices; Table B: caller in another account, both are needed; an explicit deny anywhere
 * wins), not by our own reading of them:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html#apigateway-resource-policies-iam-policies-interaction
 *
 * The evaluator (test/support/apigw-authz-evaluator.ts) encodes those tables; the template reader
 * (test/support/template-policies.ts) hands it the synthesized resource policy and the IAM policies the
 * stack gives its roles, resolved for one imagined deployment. Principals outside the stack (a partner
 * account's role, an administrator) bring hand-made IAM policies, as their own account would give them.
 */
import { readFileSync } from 'node:fs';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTEXT_PREFIX, configFromContext } from '../../lib/config.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import {
  authorize,
  type Caller,
  type Decision,
  decide,
  type PolicyDocument,
  type PolicyVerdict,
  verdictOf,
  wildcardMatch,
} from '../support/apigw-authz-evaluator.js';
import { methodArnOf, roleArnOf, TemplatePolicies } from '../support/template-policies.js';
import {
  ADMINISTRATOR_ACCESS,
  ALL_CALLS,
  allowedRoutes,
  CLIENT_A,
  clientRoutes,
  deployment,
  lambdaRole,
  ORG,
  OTHER_ORG,
  OUTSIDER_ACCOUNT,
  PARTNER_ACCOUNT,
  PARTNER_INVOKE_ANY,
  POOL_ROUTES,
  type Principal,
  partner,
  STAGE,
  synthesize,
  VENDOR_ACCOUNT,
} from './authorization-world.js';
import { appWithoutBundling, SYNTH_TIMEOUT_MS } from './helpers.js';

describe('the API Gateway decision evaluator', () => {
  const methodArn = methodArnOf(deployment, STAGE, 'GET', '/tokens/client-a');
  const sameAccountCaller: Caller = { roleArn: roleArnOf(deployment, 'Consumer'), account: VENDOR_ACCOUNT };
  const crossAccountCaller: Caller = {
    roleArn: `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner`,
    account: PARTNER_ACCOUNT,
  };
  /** A policy that says `verdict` about `methodArn` (Neither: it only speaks of another client). */
  const policySaying = (verdict: PolicyVerdict, withPrincipal: boolean): PolicyDocument => ({
    Statement: [
      {
        Effect: verdict === 'Deny' ? 'Deny' : 'Allow',
        ...(withPrincipal ? { Principal: { AWS: '*' } } : {}),
        Action: 'execute-api:Invoke',
        Resource: verdict === 'Neither' ? methodArn.replace('client-a', 'client-z') : methodArn,
      },
    ],
  });
  const verdicts: PolicyVerdict[] = ['Allow', 'Neither', 'Deny'];
  const rows = (table: Record<string, Decision>) =>
    verdicts.flatMap((identity) =>
      verdicts.map((resource) => ({
        identity,
        resource,
        expected: table[`${identity}/${resource}`] as Decision,
      })),
    );

  // Table A of the source, row by row: Account A calls API owned by account A.
  const tableA = {
    'Allow/Allow': 'Allow',
    'Allow/Neither': 'Allow',
    'Allow/Deny': 'ExplicitDeny',
    'Neither/Allow': 'Allow',
    'Neither/Neither': 'ImplicitDeny',
    'Neither/Deny': 'ExplicitDeny',
    'Deny/Allow': 'ExplicitDeny',
    'Deny/Neither': 'ExplicitDeny',
    'Deny/Deny': 'ExplicitDeny',
  } as const;
  // Table B of the source: account B calls API owned by account A.
  const tableB = {
    'Allow/Allow': 'Allow',
    'Allow/Neither': 'ImplicitDeny',
    'Allow/Deny': 'ExplicitDeny',
    'Neither/Allow': 'ImplicitDeny',
    'Neither/Neither': 'ImplicitDeny',
    'Neither/Deny': 'ExplicitDeny',
    'Deny/Allow': 'ExplicitDeny',
    'Deny/Neither': 'ExplicitDeny',
    'Deny/Deny': 'ExplicitDeny',
  } as const;

  it.each(rows(tableA))(
    'same account: IAM policy $identity and resource policy $resource result in $expected (Table A)',
    ({ identity, resource, expected }) => {
      const decision = authorize({
        identityPolicies: [policySaying(identity, false)],
        resourcePolicy: policySaying(resource, true),
        request: { caller: sameAccountCaller, methodArn },
      });
      expect(decision).toBe(expected);
    },
  );

  it.each(rows(tableB))(
    'cross account: IAM policy $identity and resource policy $resource result in $expected (Table B)',
    ({ identity, resource, expected }) => {
      const decision = authorize({
        identityPolicies: [policySaying(identity, false)],
        resourcePolicy: policySaying(resource, true),
        request: { caller: crossAccountCaller, methodArn },
      });
      expect(decision).toBe(expected);
    },
  );

  it('treats an API without a resource policy as one that neither allows nor denies', () => {
    expect(
      authorize({
        identityPolicies: [policySaying('Allow', false)],
        request: { caller: sameAccountCaller, methodArn },
      }),
    ).toBe(decide('Allow', 'Neither', true));
  });

  describe('statement matching', () => {
    const resourceVerdict = (statement: PolicyDocument['Statement'][number], caller: Caller) =>
      verdictOf([{ Statement: [statement] }], { caller, methodArn }, 'resource');
    const anyone = { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: methodArn } as const;

    it('reads an account principal as every identity of that account, and no other', () => {
      const statement = { ...anyone, Principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:root` } };
      expect(resourceVerdict(statement, sameAccountCaller)).toBe('Allow');
      expect(resourceVerdict(statement, crossAccountCaller)).toBe('Neither');
      expect(resourceVerdict({ ...statement, Principal: { AWS: PARTNER_ACCOUNT } }, crossAccountCaller)).toBe(
        'Allow',
      );
    });

    it('matches a role principal to that role only', () => {
      const statement = { ...anyone, Principal: { AWS: crossAccountCaller.roleArn } };
      expect(resourceVerdict(statement, crossAccountCaller)).toBe('Allow');
      expect(
        resourceVerdict(statement, { ...crossAccountCaller, roleArn: `${crossAccountCaller.roleArn}2` }),
      ).toBe('Neither');
    });

    it('applies StringEquals aws:PrincipalOrgID only to callers of that organization', () => {
      const statement = {
        ...anyone,
        Principal: '*',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      } as const;
      expect(resourceVerdict(statement, { ...crossAccountCaller, orgId: ORG })).toBe('Allow');
      expect(resourceVerdict(statement, { ...crossAccountCaller, orgId: OTHER_ORG })).toBe('Neither');
      expect(resourceVerdict(statement, crossAccountCaller)).toBe('Neither');
    });

    it('applies StringNotEquals also to callers that lack the key (no organization at all)', () => {
      const guard = {
        ...anyone,
        Effect: 'Deny',
        Principal: '*',
        Condition: {
          StringNotEquals: { 'aws:PrincipalOrgID': ORG, 'aws:PrincipalAccount': [VENDOR_ACCOUNT] },
        },
      } as const;
      expect(resourceVerdict(guard, crossAccountCaller)).toBe('Deny');
      expect(resourceVerdict(guard, { ...crossAccountCaller, orgId: ORG })).toBe('Neither');
      expect(resourceVerdict(guard, sameAccountCaller)).toBe('Neither');
    });

    it('matches wildcards in resources across path segments and in actions without regard to case', () => {
      expect(wildcardMatch('arn:aws:execute-api:*:111111111111:*/v1/GET/tokens/*', methodArn)).toBe(true);
      expect(wildcardMatch('arn:aws:execute-api:*:111111111111:*/v1/POST/tokens/*', methodArn)).toBe(false);
      expect(wildcardMatch('execute-api:*', 'EXECUTE-API:Invoke', true)).toBe(true);
      expect(wildcardMatch('execute-api:Invoke?', 'execute-api:Invoke')).toBe(false);
    });

    it('refuses a condition key it does not model instead of ignoring it', () => {
      const statement = {
        ...anyone,
        Principal: '*',
        Condition: { StringEquals: { 'aws:SourceIp': 'x' } },
      } as const;
      expect(() => resourceVerdict(statement, sameAccountCaller)).toThrow('aws:SourceIp is not modelled');
    });
  });
});

describe('who can vend what on the synthesized stack', () => {
  describe('with organizationId (the vendor and its partners in one organization)', () => {
    let policies: TemplatePolicies;
    const inStack = (prefix: string): Principal => {
      const logicalId = policies.roleId(prefix);
      return {
        caller: { roleArn: roleArnOf(deployment, logicalId), account: VENDOR_ACCOUNT, orgId: ORG },
        identityPolicies: policies.identityPolicies({ logicalId }),
      };
    };

    beforeAll(() => {
      // Prepare: every kind of grantee on one stack.
      policies = synthesize({ organizationId: ORG }, (vendor, stack) => {
        vendor.grantVend(lambdaRole(stack, 'Granted'), 'client-a');
        vendor.grantVendInstance(lambdaRole(stack, 'PoolGranted'), '123-ABC-456');
        lambdaRole(stack, 'Ungranted');
        const ops = iam.Role.fromRoleArn(stack, 'Ops', `arn:aws:iam::${VENDOR_ACCOUNT}:role/ops`, {
          mutable: false,
        });
        vendor.grantVend(ops, 'client-b');
        for (const name of ['partner-both', 'partner-resource-only']) {
          vendor.grantVend(
            iam.Role.fromRoleArn(stack, name, `arn:aws:iam::${PARTNER_ACCOUNT}:role/${name}`),
            'client-a',
          );
        }
        vendor.grantVend(
          iam.Role.fromRoleArn(stack, 'outsider', `arn:aws:iam::${OUTSIDER_ACCOUNT}:role/outsider`),
          'client-a',
        );
      });
    }, SYNTH_TIMEOUT_MS);

    it('a same-account role granted client-a vends exactly client-a', () => {
      expect(allowedRoutes(policies, inStack('Granted'))).toEqual(CLIENT_A);
    });

    it('allows in its resource policy only the principals whose IAM policy the stack cannot write, per client', () => {
      const apiArn = `arn:aws:execute-api:${deployment.region}:${VENDOR_ACCOUNT}:${deployment.apiId}/${STAGE}`;
      const clientArns = (id: string) => [
        `${apiArn}/GET/tokens/${id}`,
        `${apiArn}/POST/tokens/${id}/invalidate`,
        `${apiArn}/POST/tokens/${id}/permits`,
        `${apiArn}/POST/tokens/${id}/permits/release`,
        `${apiArn}/POST/tokens/${id}/bulk-slots`,
        `${apiArn}/POST/tokens/${id}/bulk-slots/renew`,
        `${apiArn}/POST/tokens/${id}/bulk-slots/release`,
      ];
      const allows = (policies.resourcePolicy()?.Statement ?? []).filter((s) => s.Effect === 'Allow');
      expect(allows.map((s) => ({ principal: s.Principal, resources: s.Resource }))).toEqual([
        { principal: { AWS: `arn:aws:iam::${VENDOR_ACCOUNT}:role/ops` }, resources: clientArns('client-b') },
        {
          principal: { AWS: `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-both` },
          resources: clientArns('client-a'),
        },
        {
          principal: { AWS: `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-resource-only` },
          resources: clientArns('client-a'),
        },
        {
          principal: { AWS: `arn:aws:iam::${OUTSIDER_ACCOUNT}:role/outsider` },
          resources: clientArns('client-a'),
        },
      ]);
    });

    it('a same-account role granted one instance pool calls exactly that pool’s routes', () => {
      expect(allowedRoutes(policies, inStack('PoolGranted'))).toEqual(POOL_ROUTES);
    });

    it('a same-account role without a grant vends nothing', () => {
      expect(allowedRoutes(policies, inStack('Ungranted'))).toEqual([]);
    });

    it('an imported same-account role the stack cannot change, granted client-b, vends exactly client-b', () => {
      const ops = {
        caller: { roleArn: `arn:aws:iam::${VENDOR_ACCOUNT}:role/ops`, account: VENDOR_ACCOUNT, orgId: ORG },
        identityPolicies: [],
      };
      expect(allowedRoutes(policies, ops)).toEqual(clientRoutes('client-b'));
    });

    it('a same-account AdministratorAccess-like role vends everything (Table A: its IAM allow suffices)', () => {
      const admin = partner('admin', [ADMINISTRATOR_ACCESS], VENDOR_ACCOUNT);
      expect(allowedRoutes(policies, admin)).toEqual(ALL_CALLS);
    });

    it('a partner role granted client-a on both sides vends exactly client-a, though its IAM allows the whole API', () => {
      expect(allowedRoutes(policies, partner('partner-both', [PARTNER_INVOKE_ANY]))).toEqual(CLIENT_A);
    });

    it('a partner role allowed only by its own IAM policy vends nothing', () => {
      expect(allowedRoutes(policies, partner('partner-iam-only', [PARTNER_INVOKE_ANY]))).toEqual([]);
    });

    it('a partner role granted only by the vendor (grantVend) vends nothing without its own IAM allow', () => {
      expect(allowedRoutes(policies, partner('partner-resource-only', []))).toEqual([]);
    });

    it('a role of an account outside the organization vends nothing, even granted on both sides', () => {
      const outsider = partner('outsider', [PARTNER_INVOKE_ANY], OUTSIDER_ACCOUNT, OTHER_ORG);
      expect(allowedRoutes(policies, outsider)).toEqual([]);
    });
  });

  describe('with allowedAccounts (one partner account, no organization)', () => {
    let policies: TemplatePolicies;
    beforeAll(() => {
      policies = synthesize({ allowedAccounts: [PARTNER_ACCOUNT] }, (vendor, stack) => {
        const partnerRole = iam.Role.fromRoleArn(
          stack,
          'Partner',
          `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-both`,
        );
        vendor.grantVend(partnerRole, 'client-a');
        lambdaRole(stack, 'Ungranted');
      });
    }, SYNTH_TIMEOUT_MS);

    it('a role of the listed account granted client-a on both sides vends exactly client-a', () => {
      expect(allowedRoutes(policies, partner('partner-both', [PARTNER_INVOKE_ANY]))).toEqual(CLIENT_A);
    });

    it('a role of an unlisted account vends nothing, whatever its own IAM policy says', () => {
      const outsider = partner('outsider', [PARTNER_INVOKE_ANY], OUTSIDER_ACCOUNT, OTHER_ORG);
      expect(allowedRoutes(policies, outsider)).toEqual([]);
    });

    it('a same-account role without a grant still vends nothing (the list admits, it does not grant)', () => {
      const logicalId = policies.roleId('Ungranted');
      const ungranted = {
        caller: { roleArn: roleArnOf(deployment, logicalId), account: VENDOR_ACCOUNT },
        identityPolicies: policies.identityPolicies({ logicalId }),
      };
      expect(allowedRoutes(policies, ungranted)).toEqual([]);
    });
  });

  describe('with a same-account role ARN in allowedPrincipals', () => {
    const opsArn = `arn:aws:iam::${VENDOR_ACCOUNT}:role/ops`;
    let policies: TemplatePolicies;
    beforeAll(() => {
      policies = synthesize({ allowedPrincipals: [new iam.ArnPrincipal(opsArn)] }, () => {});
    }, SYNTH_TIMEOUT_MS);

    it('that role vends nothing without an IAM grant', () => {
      const ops = { caller: { roleArn: opsArn, account: VENDOR_ACCOUNT }, identityPolicies: [] };
      expect(allowedRoutes(policies, ops)).toEqual([]);
    });
  });

  describe('with default props', () => {
    let policies: TemplatePolicies;
    beforeAll(() => {
      policies = synthesize({}, (vendor, stack) => {
        vendor.grantVend(lambdaRole(stack, 'Granted'), 'client-a');
        lambdaRole(stack, 'Ungranted');
      });
    }, SYNTH_TIMEOUT_MS);

    it('a same-account role without a grant vends nothing', () => {
      const logicalId = policies.roleId('Ungranted');
      const ungranted = {
        caller: { roleArn: roleArnOf(deployment, logicalId), account: VENDOR_ACCOUNT },
        identityPolicies: policies.identityPolicies({ logicalId }),
      };
      expect(allowedRoutes(policies, ungranted)).toEqual([]);
    });

    it('a same-account role granted client-a vends exactly client-a', () => {
      const logicalId = policies.roleId('Granted');
      const granted = {
        caller: { roleArn: roleArnOf(deployment, logicalId), account: VENDOR_ACCOUNT },
        identityPolicies: policies.identityPolicies({ logicalId }),
      };
      expect(allowedRoutes(policies, granted)).toEqual(CLIENT_A);
    });

    it('a role of another account vends nothing, whatever its own IAM policy says', () => {
      expect(allowedRoutes(policies, partner('partner-iam-only', [PARTNER_INVOKE_ANY]))).toEqual([]);
    });
  });
});

describe('the packaged stack’s vendGrants (cdk.json: marketo-token-vendor:vendGrants)', () => {
  const partnerArn = `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-both`;
  const reportingArn = `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner-reporting`;
  let policies: TemplatePolicies;
  beforeAll(() => {
    const stack = new TokenVendorStack(appWithoutBundling(), 'Packaged', {
      env: { account: VENDOR_ACCOUNT, region: deployment.region },
      vendor: { allowedAccounts: [PARTNER_ACCOUNT] },
      vendGrants: [
        { principalArn: partnerArn, clientIds: ['client-a'] },
        { principalArn: reportingArn, instances: ['123-ABC-456'] },
      ],
    });
    policies = new TemplatePolicies(Template.fromStack(stack).toJSON(), deployment);
  }, SYNTH_TIMEOUT_MS);

  it('let a partner role granted client-a vend exactly client-a, though its IAM allows the whole API', () => {
    expect(allowedRoutes(policies, partner('partner-both', [PARTNER_INVOKE_ANY]))).toEqual(CLIENT_A);
  });

  it('let a partner role granted one pool call exactly that pool’s routes', () => {
    expect(allowedRoutes(policies, partner('partner-reporting', [PARTNER_INVOKE_ANY]))).toEqual(POOL_ROUTES);
  });

  it('are read from cdk.json as a list and from -c as a JSON string', () => {
    const grants = [{ principalArn: partnerArn, clientIds: ['client-a'] }];
    const fromContext = (value: unknown) =>
      configFromContext({
        tryGetContext: (key: string) => (key === `${CONTEXT_PREFIX}vendGrants` ? value : undefined),
      }).stackProps.vendGrants;
    expect(fromContext(grants)).toEqual([{ ...grants[0], instances: undefined }]);
    expect(fromContext(JSON.stringify(grants))).toEqual([{ ...grants[0], instances: undefined }]);
  });

  it('fail on a malformed entry, naming the key and the value', () => {
    expect(() =>
      configFromContext({
        tryGetContext: (key: string) =>
          key === `${CONTEXT_PREFIX}vendGrants` ? [{ clientIds: ['a'] }] : undefined,
      }),
    ).toThrow(
      'context marketo-token-vendor:vendGrants must be a list of {"principalArn": "arn:…", "clientIds": [...], "instances": [...]}, got {"clientIds":["a"]}',
    );
  });

  it(
    'fail synthesis for an entry without client ids or instances',
    () => {
      expect(
        () =>
          new TokenVendorStack(appWithoutBundling(), 'Empty', {
            env: { account: VENDOR_ACCOUNT, region: deployment.region },
            vendor: { allowedAccounts: [PARTNER_ACCOUNT] },
            vendGrants: [{ principalArn: partnerArn }],
          }),
      ).toThrow(/^vendGrants entries need clientIds or instances/);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('grants that would add nothing or too much fail synthesis with what to do', () => {
  const vendorIn = (props: MarketoTokenVendorProps = {}) => {
    const stack = new Stack(appWithoutBundling(), 'Refused', {
      env: { account: VENDOR_ACCOUNT, region: deployment.region },
    });
    return { stack, vendor: new MarketoTokenVendor(stack, 'Vendor', props) };
  };

  it(
    'refuses a principal of an account the resource policy denies, naming allowedAccounts',
    () => {
      const { stack, vendor } = vendorIn();
      const partnerRole = iam.Role.fromRoleArn(
        stack,
        'Partner',
        `arn:aws:iam::${PARTNER_ACCOUNT}:role/partner`,
      );
      expect(() => vendor.grantVend(partnerRole, 'client-a')).toThrow(
        `grantVend(client-a) for a principal of account ${PARTNER_ACCOUNT}, which the API's resource policy denies: add "${PARTNER_ACCOUNT}" to allowedAccounts (or the principal to allowedPrincipals, or set organizationId); it also needs its own account's IAM allow`,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'refuses a role of an account the resource policy denies also when given by ARN alone',
    () => {
      const { vendor } = vendorIn();
      const partnerArn = new iam.ArnPrincipal(`arn:aws:iam::${PARTNER_ACCOUNT}:role/partner`);
      expect(() => vendor.grantVend(partnerArn, 'client-a')).toThrow(
        `grantVend(client-a) for a principal of account ${PARTNER_ACCOUNT}, which the API's resource policy denies`,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'refuses the API’s own account as grantee, which would give every role of it the routes',
    () => {
      const { vendor } = vendorIn();
      expect(() => vendor.grantVend(new iam.AccountRootPrincipal(), 'client-a')).toThrow(
        /^grantVend\(client-a\) cannot name .*: an account principal is every role of that account.*grant each role that needs the routes/,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'refuses a service principal, which neither an IAM policy nor the resource policy can scope',
    () => {
      const { vendor } = vendorIn();
      expect(() =>
        vendor.grantVendInstance(new iam.ServicePrincipal('states.amazonaws.com'), '123-ABC-456'),
      ).toThrow(/^grantVendInstance\(123-ABC-456\) needs an IAM role or user as grantee/);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'refuses an allowedPrincipals entry that is not an IAM role, user or account',
    () => {
      expect(() =>
        vendorIn({ allowedPrincipals: [new iam.ServicePrincipal('states.amazonaws.com')] }),
      ).toThrow(/^allowedPrincipals entries must be IAM roles, users or accounts/);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('a grant that changes the resource policy', () => {
  // API Gateway serves the policy of the last deployment; CDK salts the deployment's logical id with the
  // RestApi's properties, policy included (aws/aws-cdk#5354, fixed by aws/aws-cdk#7115).
  it(
    'gets a new API deployment, so it takes effect on the next cdk deploy',
    () => {
      const deploymentIdOf = (grantPartner: boolean): string => {
        const stack = new Stack(appWithoutBundling(), 'Redeploy', {
          env: { account: VENDOR_ACCOUNT, region: deployment.region },
        });
        const vendor = new MarketoTokenVendor(stack, 'Vendor', { allowedAccounts: [PARTNER_ACCOUNT] });
        if (grantPartner) {
          vendor.grantVend(new iam.ArnPrincipal(`arn:aws:iam::${PARTNER_ACCOUNT}:role/partner`), 'client-a');
        }
        const ids = Object.keys(Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment'));
        expect(ids).toHaveLength(1);
        return ids[0] as string;
      };
      expect(deploymentIdOf(true)).not.toBe(deploymentIdOf(false));
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('the documented authorization model', () => {
  const tableIn = (doc: string): string => {
    const text = readFileSync(new URL(`../../docs/${doc}`, import.meta.url), 'utf8');
    const start = text.indexOf('<!-- authorization-table:start');
    const end = text.indexOf('<!-- authorization-table:end -->');
    if (start < 0 || end < start) throw new Error(`docs/${doc} has no authorization table`);
    return text.slice(start, end);
  };

  it('is one table, the same in docs/deploy.md and docs/threat-model.md', () => {
    expect(tableIn('threat-model.md')).toBe(tableIn('deploy.md'));
  });
});
