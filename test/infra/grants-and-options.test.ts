import { type CfnElement, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { allowSlowSynthesis, appWithoutBundling, executeApiArn } from './helpers.js';

allowSlowSynthesis();

const consumerRole = (stack: Stack, id: string): iam.Role =>
  new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

describe('MarketoTokenVendor with options and grants', () => {
  let template: Template;
  let vendor: MarketoTokenVendor;
  let apiId: string;
  const policyStatementsOf = (roleId: string): Array<Record<string, unknown>> => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${roleId}`),
    );
    expect(policies).toHaveLength(1);
    const document = policies[0]?.Properties.PolicyDocument as
      | { Statement: Array<Record<string, unknown>> }
      | undefined;
    return document?.Statement ?? [];
  };

  beforeAll(() => {
    // Prepare: one stack exercising every option and grant, synthesized once.
    const app = appWithoutBundling();
    const stack = new Stack(app, 'Options');
    vendor = new MarketoTokenVendor(stack, 'Vendor', {
      alarmTopic: new sns.Topic(stack, 'Alarms'),
      encryptionKey: new kms.Key(stack, 'TableKey', { enableKeyRotation: true }),
      allowedAccounts: ['111111111111'],
      organizationId: 'o-abcdefghij',
      allowedPrincipals: [new iam.ArnPrincipal('arn:aws:iam::222222222222:role/consumer')],
      refreshSchedule: Duration.minutes(5),
      serviceName: 'mtv-test',
      stageName: 'prod',
      pointInTimeRecovery: true,
    });
    vendor.grantVend(consumerRole(stack, 'TwoClients'), 'client-a', 'client.b');
    vendor.grantVendAll(consumerRole(stack, 'AllClients'));
    vendor.grantVendInstance(consumerRole(stack, 'OneInstance'), '123-ABC-456');
    vendor.grantVendAllInstances(consumerRole(stack, 'AllInstances'));
    vendor.grantInvoke(consumerRole(stack, 'DirectInvoker'));
    template = Template.fromStack(stack);
    apiId = stack.getLogicalId(vendor.api.node.defaultChild as CfnElement);
  });

  describe('grantVend', () => {
    it('with client ids allows execute-api:Invoke on exactly those clients’ token, invalidate, permit and bulk slot ARNs', () => {
      expect(policyStatementsOf('TwoClients')).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: [
            executeApiArn(apiId, 'prod/GET/tokens/client-a'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/invalidate'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/permits'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/permits/release'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/bulk-slots'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/bulk-slots/renew'),
            executeApiArn(apiId, 'prod/POST/tokens/client-a/bulk-slots/release'),
            executeApiArn(apiId, 'prod/GET/tokens/client.b'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/invalidate'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/permits'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/permits/release'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/bulk-slots'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/bulk-slots/renew'),
            executeApiArn(apiId, 'prod/POST/tokens/client.b/bulk-slots/release'),
          ],
        },
      ]);
    });

    it('grantVendAll allows every client through the wildcard', () => {
      expect(policyStatementsOf('AllClients')).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: [
            executeApiArn(apiId, 'prod/GET/tokens/*'),
            executeApiArn(apiId, 'prod/POST/tokens/*/invalidate'),
            executeApiArn(apiId, 'prod/POST/tokens/*/permits'),
            executeApiArn(apiId, 'prod/POST/tokens/*/permits/release'),
            executeApiArn(apiId, 'prod/POST/tokens/*/bulk-slots'),
            executeApiArn(apiId, 'prod/POST/tokens/*/bulk-slots/renew'),
            executeApiArn(apiId, 'prod/POST/tokens/*/bulk-slots/release'),
          ],
        },
      ]);
    });

    it('rejects a client id outside the API alphabet, showing it', () => {
      expect(() => vendor.grantVend(new iam.AccountRootPrincipal(), 'a/b')).toThrow(/clientId .* got "a\/b"/);
    });
  });

  describe('grantVendInstance', () => {
    it('with instances allows exactly their pool token, invalidate, permit and bulk slot ARNs', () => {
      expect(policyStatementsOf('OneInstance')).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: [
            executeApiArn(apiId, 'prod/GET/instances/123-ABC-456/token'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/invalidate'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/permits'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/permits/release'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/bulk-slots'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/bulk-slots/renew'),
            executeApiArn(apiId, 'prod/POST/instances/123-ABC-456/bulk-slots/release'),
          ],
        },
      ]);
    });

    it('grantVendAllInstances allows every pool through the wildcard', () => {
      expect(policyStatementsOf('AllInstances')).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: [
            executeApiArn(apiId, 'prod/GET/instances/*/token'),
            executeApiArn(apiId, 'prod/POST/instances/*/invalidate'),
            executeApiArn(apiId, 'prod/POST/instances/*/permits'),
            executeApiArn(apiId, 'prod/POST/instances/*/permits/release'),
            executeApiArn(apiId, 'prod/POST/instances/*/bulk-slots'),
            executeApiArn(apiId, 'prod/POST/instances/*/bulk-slots/renew'),
            executeApiArn(apiId, 'prod/POST/instances/*/bulk-slots/release'),
          ],
        },
      ]);
    });
  });

  describe('grantInvoke', () => {
    it('allows lambda:InvokeFunction on the vend function only', () => {
      const statements = policyStatementsOf('DirectInvoker');
      expect(statements).toHaveLength(1);
      expect(statements[0]?.Action).toBe('lambda:InvokeFunction');
      expect(JSON.stringify(statements[0]?.Resource)).toContain('VendorVendFunction');
      expect(JSON.stringify(statements[0]?.Resource)).not.toContain('RefreshFunction');
    });
  });

  describe('alarm topic', () => {
    it('is the alarm and OK action of all eleven alarms', () => {
      const topic = { Ref: Match.stringLikeRegexp('^Alarms') };
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { AlarmActions: [topic], OKActions: [topic] },
        11,
      );
    });
  });

  describe('customer-managed key', () => {
    it('encrypts the table', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TableKey'), 'Arn'] },
        },
      });
    });

    it('is decryptable by both roles, only through DynamoDB', () => {
      for (const role of ['VendorVendRole', 'VendorRefreshRole']) {
        expect(policyStatementsOf(role)).toContainEqual({
          Sid: 'TableKey',
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: {
            'Fn::GetAtt': [Match.stringLikeRegexp('^TableKey').toString() && expect.any(String), 'Arn'],
          },
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            },
          },
        });
      }
    });
  });

  describe('resource policy', () => {
    it('only denies callers outside the stack account, the configured accounts, organization and principals', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        Policy: {
          Statement: [
            {
              Sid: 'DenyCallersOutsideAllowed',
              Action: 'execute-api:Invoke',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: 'execute-api:/*',
              Condition: {
                StringNotEquals: {
                  'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }, '111111111111'],
                  'aws:PrincipalOrgID': 'o-abcdefghij',
                },
                ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::222222222222:role/consumer'] },
              },
            },
          ],
        },
      });
    });
  });

  describe('refresh schedule of five minutes', () => {
    it('runs at that rate, plans that far ahead, and keeps the refresher’s timeout of 5 minutes', () => {
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('^Keeps every'),
        Timeout: 300,
        Environment: { Variables: Match.objectLike({ REFRESH_HORIZON_SECONDS: '300' }) },
      });
    });
  });

  describe('metrics', () => {
    it('are custom metrics in MarketoTokenVendor with the service dimension', () => {
      const metrics = [
        vendor.metricIdentityCalls(),
        vendor.metricIdentityErrors(),
        vendor.metricRefreshFailures(),
      ];
      expect(metrics.map((m) => [m.namespace, m.metricName, m.dimensions])).toEqual([
        ['MarketoTokenVendor', 'IdentityCalls', { service: 'mtv-test' }],
        ['MarketoTokenVendor', 'IdentityErrors', { service: 'mtv-test' }],
        ['MarketoTokenVendor', 'RefreshFailed', { service: 'mtv-test' }],
      ]);
    });

    it('metric(name) is that custom metric of this vendor, a Sum over 5 minutes unless options say otherwise', () => {
      const byDefault = vendor.metric('TokenRotating');
      const p99 = vendor.metric('IdentityLatencyMs', { statistic: 'p99', period: Duration.minutes(1) });
      expect([byDefault.namespace, byDefault.metricName, byDefault.dimensions, byDefault.statistic]).toEqual([
        'MarketoTokenVendor',
        'TokenRotating',
        { service: 'mtv-test' },
        'Sum',
      ]);
      expect(byDefault.period.toSeconds()).toBe(300);
      expect([p99.metricName, p99.statistic, p99.period.toSeconds()]).toEqual([
        'IdentityLatencyMs',
        'p99',
        60,
      ]);
    });

    it("report vend latency as the API p99 latency, keyed to this vendor's API name", () => {
      const metric = vendor.metricVendLatency();
      expect([metric.namespace, metric.metricName, metric.statistic]).toEqual([
        'AWS/ApiGateway',
        'Latency',
        'p99',
      ]);
      expect(metric.dimensions).toEqual({ ApiName: vendor.api.restApiName });
    });
  });

  describe('point-in-time recovery', () => {
    it('is enabled when asked for', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    });
  });
});

describe('MarketoTokenVendor props validation', () => {
  const build = (props: MarketoTokenVendorProps) => () =>
    new MarketoTokenVendor(new Stack(appWithoutBundling(), 'Validation'), 'Vendor', props);

  it.each<[string, MarketoTokenVendorProps, RegExp]>([
    ['a secret prefix not ending with a slash', { secretPrefix: 'marketo' }, /secretPrefix .* got "marketo"/],
    [
      'a refresh schedule under a minute',
      { refreshSchedule: Duration.seconds(30) },
      /refreshSchedule .* got 30 seconds/,
    ],
    [
      'a refresh schedule whose timeout would pass 15 minutes',
      { refreshSchedule: Duration.minutes(15) },
      /got 900 seconds/,
    ],
    [
      'a default minimum validity close to a whole token lifetime',
      { defaultMinValiditySeconds: 3501 },
      /got 3501/,
    ],
    [
      'a wait budget beyond API Gateway’s timeout',
      { maxWait: Duration.seconds(29) },
      /maxWait .* got 29000 ms/,
    ],
    [
      'a lease shorter than the Identity timeout',
      { leaseDuration: Duration.seconds(5) },
      /leaseDuration .* got 5000 ms/,
    ],
    [
      'an identity host given as a URL',
      { identityAllowedHosts: ['https://x.mktorest.com'] },
      /got "https:\/\/x\.mktorest\.com"/,
    ],
    ['an account id that is not 12 digits', { allowedAccounts: ['1234'] }, /allowedAccounts .* got "1234"/],
    ['a malformed organization id', { organizationId: 'acme' }, /organizationId .* got "acme"/],
    ['too little memory', { memorySize: 64 }, /memorySize .* got 64/],
    ['a zero burst limit', { apiThrottle: { rateLimit: 10, burstLimit: 0 } }, /apiThrottle .*"burstLimit":0/],
  ])('fails on %s, showing the value', (_name, props, message) => {
    expect(build(props)).toThrow(message);
  });

  it('accepts unresolved tokens without validating them', () => {
    expect(build({ secretPrefix: Lazy.string({ produce: () => 'resolved-later/' }) })).not.toThrow();
  });
});
