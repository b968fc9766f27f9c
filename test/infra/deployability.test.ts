import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ERRORS, gatewayResponseTemplate } from '../../functions/contract/index.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

/**
 * Issue 12, "a stack that deploys, and whose alarms mean something": what real AWS requires of the template
 * beyond what the loopback tests can see.
 */

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

const synth = (props: MarketoTokenVendorProps = {}): Template => {
  const stack = new Stack(appWithoutBundling(), 'Deployability');
  new MarketoTokenVendor(stack, 'Vendor', props);
  return Template.fromStack(stack);
};

const only = (template: Template, type: string): [string, Resource] => {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resource];
};

/** One synthesis takes about 5 s alone; on a loaded machine (8 suites at once) 50 s were seen. */
const SYNTH_TIMEOUT_MS = 180_000;

/** SQS keeps a message at most 14 days (MessageRetentionPeriod). */
const SQS_MAX_RETENTION_SECONDS = 1_209_600;

describe('a fresh account or region', () => {
  let template: Template;
  let centrally: Template;
  beforeAll(() => {
    template = synth();
    centrally = synth({ apiGatewayCloudWatchRole: false });
  }, SYNTH_TIMEOUT_MS);

  it("sets the region's API Gateway CloudWatch Logs role to one this stack creates, before the logging stage", () => {
    const [accountId, account] = only(template, 'AWS::ApiGateway::Account');
    const roleRef = (account.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ];
    expect(roleRef[1]).toBe('Arn');
    template.hasResource('AWS::IAM::Role', {
      Properties: Match.objectLike({
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
        ManagedPolicyArns: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
              ],
            ],
          },
        ],
      }),
    });
    expect(Object.keys(template.findResources('AWS::IAM::Role'))).toContain(roleRef[0]);
    const [, stage] = only(template, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.AccessLogSetting).toBeDefined();
    expect(stage.DependsOn).toContain(accountId);
  });

  it('keeps the role and the account setting when the stack is deleted (other APIs of the region log through it)', () => {
    const [, account] = only(template, 'AWS::ApiGateway::Account');
    const roleId = (account.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ][0];
    const role = template.toJSON().Resources[roleId] as Resource;
    for (const resource of [account, role]) {
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('leaves the account setting alone when apiGatewayCloudWatchRole is false (managed centrally)', () => {
    centrally.resourceCountIs('AWS::ApiGateway::Account', 0);
    centrally.resourcePropertiesCountIs(
      'AWS::IAM::Role',
      {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      },
      0,
    );
  });
});

describe('the refresh dead-letter path', () => {
  const templates = new Map<string, Template>();
  beforeAll(() => {
    templates.set('default', synth());
    templates.set('longest', synth({ refreshSchedule: Duration.minutes(14) }));
  }, SYNTH_TIMEOUT_MS);
  const queues = (template: Template) => {
    const all = template.toJSON().Resources as Record<string, Resource>;
    const [, batches] = Object.entries(all).find(
      ([id, r]) => r.Type === 'AWS::SQS::Queue' && id.includes('RefreshBatches'),
    ) as [string, Resource];
    const [, deadLetters] = Object.entries(all).find(
      ([id, r]) => r.Type === 'AWS::SQS::Queue' && id.includes('RefreshDeadLetters'),
    ) as [string, Resource];
    return { batches: batches.Properties, deadLetters: deadLetters.Properties };
  };

  it.each([
    ['the default schedule', 'default'],
    ['the longest schedule (14 minutes)', 'longest'],
  ])(
    'keeps a failed batch through every delivery the redrive allows, plus one visibility timeout (%s)',
    (_, key) => {
      const { batches } = queues(templates.get(key) as Template);
      const receives = (batches.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount;
      const visibility = batches.VisibilityTimeout as number;
      const retention = batches.MessageRetentionPeriod as number;
      expect(receives).toBe(3);
      expect(retention).toBeGreaterThanOrEqual((receives + 1) * visibility);
      expect(retention).toBeLessThanOrEqual(SQS_MAX_RETENTION_SECONDS);
    },
  );

  it('the dead-letter queue keeps a batch longer than the batches queue (expiry counts from the first enqueue)', () => {
    const { batches, deadLetters } = queues(templates.get('default') as Template);
    expect(deadLetters.MessageRetentionPeriod as number).toBeGreaterThan(
      batches.MessageRetentionPeriod as number,
    );
  });
});

describe('API name of the metrics', () => {
  let template: Template;
  beforeAll(() => {
    const stack = new Stack(appWithoutBundling(), 'TwoVendors');
    new MarketoTokenVendor(stack, 'Production', { serviceName: 'vendor-production' });
    new MarketoTokenVendor(stack, 'Staging', { serviceName: 'vendor-staging' });
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT_MS);

  const apiNames = (): string[] =>
    Object.values(template.findResources('AWS::ApiGateway::RestApi')).map((r) => r.Properties.Name as string);

  it('two vendors in one app have distinct REST API names, none of them the construct default "Api"', () => {
    const names = apiNames();
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    expect(names).not.toContain('Api');
  });

  it("every alarm and dashboard ApiName dimension is its own vendor's API name", () => {
    const names = apiNames();
    type Dimension = { Name: string; Value: unknown };
    // A metric alarm names its dimensions itself; an alarm on metric math, in each of its metrics.
    const alarmDimensions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).flatMap((alarm) =>
      [
        ...((alarm.Properties.Dimensions ?? []) as Dimension[]),
        ...(
          (alarm.Properties.Metrics ?? []) as { MetricStat?: { Metric: { Dimensions?: Dimension[] } } }[]
        ).flatMap((query) => query.MetricStat?.Metric.Dimensions ?? []),
      ]
        .filter((d) => d.Name === 'ApiName')
        .map((d) => d.Value),
    );
    expect(alarmDimensions.sort()).toEqual([...names].sort());
    const dashboardApiNames = Object.values(template.findResources('AWS::CloudWatch::Dashboard')).flatMap(
      (d) => {
        const body = d.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
        const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
        return [...text.matchAll(/"ApiName","([^"]*)"/g)].map((m) => m[1]);
      },
    );
    expect(new Set(dashboardApiNames)).toEqual(new Set(names));
  });
});

describe('gateway errors', () => {
  let template: Template;
  beforeAll(() => {
    template = synth();
  }, SYNTH_TIMEOUT_MS);

  it.each(Object.values(GATEWAY_ERRORS))(
    '$kind answers in the JSON error shape of the contract table',
    (entry) => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: entry.kind,
        StatusCode: entry.setStatus ? String(entry.httpStatus) : Match.absent(),
        ResponseTemplates: { 'application/json': gatewayResponseTemplate(entry.kind) },
        ResponseParameters: { 'gatewayresponse.header.Cache-Control': "'no-store'" },
      });
    },
  );

  it('DEFAULT_5XX keeps the original status (a crashed function stays 502, a timeout 504)', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_5XX',
      StatusCode: Match.absent(),
    });
  });
});
