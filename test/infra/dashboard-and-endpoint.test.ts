import { type App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN_ROTATING_METRIC } from '../../functions/contract/index.js';
import type { BudgetMetricName } from '../../functions/core/budget/ports.js';
import type { BulkMetricName } from '../../functions/core/bulk/ports.js';
import type { MetricName } from '../../functions/core/ports.js';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

/** Every metric the core emits; a new `MetricName` fails compilation here until it is listed. */
const EMITTED: Record<MetricName, true> = {
  VendFromMemory: true,
  VendFromStore: true,
  VendFromIdentity: true,
  IdentityCalls: true,
  IdentityErrors: true,
  IdentityLatencyMs: true,
  CredentialsRejected: true,
  ClientCredentialsRejected: true,
  TokenRotating: true,
  LeaseWaits: true,
  LeaseTakeovers: true,
  StoreErrors: true,
  StoreThrottled: true,
  TokenRemainingSeconds: true,
  Invalidations: true,
  InvalidationsSuppressed: true,
  RefreshFetched: true,
  RefreshWaited: true,
  RefreshFailed: true,
  RefreshQueued: true,
  RefreshOverdue: true,
  PoolMemberFailed: true,
  PoolGuaranteedRemainingSeconds: true,
};

/** Metrics the core emits per client (dimensions service and clientId), charted by a Metrics Insights query. */
const PER_CLIENT: ReadonlySet<MetricName> = new Set<MetricName>(['ClientCredentialsRejected']);

/** Every metric the budget emits (functions/core/budget/ports.ts). */
const BUDGET_EMITTED: Record<BudgetMetricName, true> = {
  PermitsGranted: true,
  PermitsWaited: true,
  PermitsRefused: true,
  PermitsUnmetered: true,
  PermitConflicts: true,
  BudgetStoreErrors: true,
  DailyQuotaUsedPercent: true,
  MarketoRateLimited606: true,
  MarketoConcurrencyLimited615: true,
  MarketoDailyQuota607: true,
  MarketoDailyQuota607Confirmed: true,
  MarketoUsageReads: true,
  MarketoUsageReadFailures: true,
};

/** Every metric the Bulk API slots emit (functions/core/bulk/ports.ts). */
const BULK_EMITTED: Record<BulkMetricName, true> = {
  BulkSlotsGranted: true,
  BulkSlotsWaited: true,
  BulkSlotsReclaimed: true,
  BulkSlotsUnmetered: true,
  BulkExportBytes: true,
  DailyExportQuotaUsedPercent: true,
  DailyExportQuotaRefusals: true,
};

/** A metric row of a dashboard widget: `[namespace, name, dim, value, ..., {options}]` or `[{expression}]`. */
type MetricRow = Array<string | Record<string, unknown>>;
interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly metrics?: MetricRow[];
    readonly alarms?: unknown[];
  };
}

/** The dashboard body with CloudFormation references replaced by `<ref>`, parsed. */
const dashboardWidgets = (template: Template): Widget[] => {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
};

const widgetTitled = (widgets: Widget[], title: string): Widget => {
  const widget = widgets.find((w) => w.properties.title === title);
  expect(widget, `widget "${title}"`).toBeDefined();
  return widget as Widget;
};

/** `namespace/name/statistic` of every plain metric row of a widget (expressions skipped). */
const metricsOf = (widget: Widget): string[] =>
  (widget.properties.metrics ?? [])
    .filter((row) => typeof row[0] === 'string')
    .map((row) => {
      const options = row.at(-1) as { stat?: string };
      return `${row[0]}/${row[1]}/${typeof options === 'object' ? (options.stat ?? 'Average') : 'Average'}`;
    });

const synth = (
  props: MarketoTokenVendorProps,
  withEndpoint = false,
): { app: App; stack: Stack; vendor: MarketoTokenVendor } => {
  const app = appWithoutBundling();
  const stack = new Stack(app, 'Stack');
  const vpcEndpoints = withEndpoint
    ? [
        ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'ExecuteApiEndpoint', {
          vpcEndpointId: 'vpce-0123456789abcdef0',
          port: 443,
        }),
      ]
    : undefined;
  const vendor = new MarketoTokenVendor(stack, 'Vendor', { vpcEndpoints, ...props });
  return { app, stack, vendor };
};

describe('MarketoTokenVendor dashboard', () => {
  let template: Template;
  let widgets: Widget[];
  let vendor: MarketoTokenVendor;

  beforeAll(() => {
    // Prepare: default props, synthesized once.
    const synthesized = synth({});
    vendor = synthesized.vendor;
    template = Template.fromStack(synthesized.stack);
    widgets = dashboardWidgets(template);
  });

  it('is created by default and exposed as the dashboard property', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(vendor.dashboard).toBeDefined();
  });

  it('is not created with dashboard: false', () => {
    const { stack, vendor: without } = synth({ dashboard: false });
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(without.dashboard).toBeUndefined();
  });

  it('charts every metric the core emits, in the MarketoTokenVendor namespace with the service dimension', () => {
    const rows = widgets.flatMap((w) => w.properties.metrics ?? []);
    const custom = rows.filter((row) => row[0] === 'MarketoTokenVendor');
    for (const row of custom) expect(row.slice(2, 4)).toEqual(['service', vendor.serviceName]);
    expect(new Set(custom.map((row) => row[1]))).toEqual(
      new Set([
        ...Object.keys(EMITTED).filter((name) => !PER_CLIENT.has(name as MetricName)),
        ...Object.keys(BUDGET_EMITTED),
        ...Object.keys(BULK_EMITTED),
        API_TOKEN_ROTATING_METRIC,
      ]),
    );
    const queries = rows.flatMap((row) =>
      row.flatMap((part) =>
        typeof part === 'object' && typeof part.expression === 'string' ? [part.expression] : [],
      ),
    );
    for (const name of PER_CLIENT) {
      expect(queries).toContain(
        `SELECT MAX(${name}) FROM SCHEMA("MarketoTokenVendor", clientId, service) WHERE service = '${vendor.serviceName}' GROUP BY clientId`,
      );
    }
  });

  it("shows Marketo calls per consumer: a SEARCH over this vendor's ConsumerCalls by Consumer and Client", () => {
    const rows =
      widgetTitled(widgets, 'Marketo calls by consumer (usage per consumer)').properties.metrics ?? [];

    expect(rows.map((row) => (row[0] as { expression?: string }).expression)).toEqual([
      'SEARCH(\'{MarketoTokenVendor,service,Consumer,Client} MetricName="ConsumerCalls" service="Stack-Vendor"\', \'Sum\', 300)',
    ]);
  });

  it('shows the Bulk API slots (granted, waited, reclaimed, unmetered, quota refusals) and the export quota used', () => {
    expect(metricsOf(widgetTitled(widgets, 'Bulk API slots'))).toEqual([
      'MarketoTokenVendor/BulkSlotsGranted/Sum',
      'MarketoTokenVendor/BulkSlotsWaited/Sum',
      'MarketoTokenVendor/BulkSlotsReclaimed/Sum',
      'MarketoTokenVendor/BulkSlotsUnmetered/Sum',
      'MarketoTokenVendor/DailyExportQuotaRefusals/Sum',
    ]);
    expect(metricsOf(widgetTitled(widgets, 'Bulk export: bytes and daily quota used'))).toEqual([
      'MarketoTokenVendor/BulkExportBytes/Sum',
      'MarketoTokenVendor/DailyExportQuotaUsedPercent/Maximum',
    ]);
  });

  it('shows vends by outcome: memory, store and Identity', () => {
    expect(metricsOf(widgetTitled(widgets, 'Vends by outcome'))).toEqual([
      'MarketoTokenVendor/VendFromMemory/Sum',
      'MarketoTokenVendor/VendFromStore/Sum',
      'MarketoTokenVendor/VendFromIdentity/Sum',
    ]);
  });

  it('computes the cache hit ratio with a math expression over the three vend outcomes', () => {
    const rows = widgetTitled(widgets, 'Cache hit ratio (%)').properties.metrics ?? [];
    const expressions = rows
      .map((row) => row[0])
      .filter((first): first is Record<string, unknown> => typeof first === 'object')
      .map((options) => options.expression);
    expect(expressions).toEqual(['100 * (m + s) / (m + s + i)', '100 * m / (m + s + i)']);
    const hidden = rows
      .filter((row) => typeof row[0] === 'string')
      .map((row) => `${row[1]} as ${(row.at(-1) as { id?: string }).id}`);
    expect(hidden).toEqual(['VendFromMemory as m', 'VendFromStore as s', 'VendFromIdentity as i']);
  });

  it('shows Identity latency p50 and p99 and the Identity error counts', () => {
    expect(metricsOf(widgetTitled(widgets, 'Identity latency (ms)'))).toEqual([
      'MarketoTokenVendor/IdentityLatencyMs/p50',
      'MarketoTokenVendor/IdentityLatencyMs/p99',
    ]);
    expect(metricsOf(widgetTitled(widgets, 'Identity calls and errors'))).toEqual(
      expect.arrayContaining([
        'MarketoTokenVendor/IdentityErrors/Sum',
        'MarketoTokenVendor/CredentialsRejected/Sum',
      ]),
    );
  });

  it('shows the remaining life of vended tokens and the refresher summary', () => {
    expect(metricsOf(widgetTitled(widgets, 'Token remaining life at vend (s)'))).toContain(
      'MarketoTokenVendor/TokenRemainingSeconds/Minimum',
    );
    expect(metricsOf(widgetTitled(widgets, 'Refresher'))).toEqual(
      expect.arrayContaining([
        'MarketoTokenVendor/RefreshFetched/Sum',
        'MarketoTokenVendor/RefreshWaited/Sum',
        'MarketoTokenVendor/RefreshFailed/Sum',
      ]),
    );
    expect(metricsOf(widgetTitled(widgets, 'Instance pools: guaranteed remaining (s)'))).toEqual([
      'MarketoTokenVendor/PoolGuaranteedRemainingSeconds/Minimum',
    ]);
  });

  it('shows API 4xx, 5xx (and the intended 503 TokenRotating among them) and latency, Lambda errors and throttles and the dead-letter queue depth', () => {
    expect(metricsOf(widgetTitled(widgets, 'API requests and errors'))).toEqual([
      'AWS/ApiGateway/Count/Sum',
      'AWS/ApiGateway/4XXError/Sum',
      'AWS/ApiGateway/5XXError/Sum',
      `MarketoTokenVendor/${API_TOKEN_ROTATING_METRIC}/Sum`,
    ]);
    expect(metricsOf(widgetTitled(widgets, 'API latency (ms)'))).toEqual(
      expect.arrayContaining(['AWS/ApiGateway/Latency/p50', 'AWS/ApiGateway/Latency/p99']),
    );
    expect(metricsOf(widgetTitled(widgets, 'Lambda errors and throttles'))).toEqual([
      'AWS/Lambda/Errors/Sum',
      'AWS/Lambda/Throttles/Sum',
      'AWS/Lambda/Errors/Sum',
      'AWS/Lambda/Throttles/Sum',
    ]);
    expect(metricsOf(widgetTitled(widgets, 'Refresh dead-letter queue'))).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible/Maximum',
    ]);
  });

  it('lists the state of every alarm the construct created', () => {
    expect(widgetTitled(widgets, 'Alarms').properties.alarms).toHaveLength(vendor.alarms.length);
  });
});

describe('MarketoTokenVendor private endpoint', () => {
  let template: Template;
  let apiLogicalId: string;
  let app: App;

  beforeAll(() => {
    // Prepare: a PRIVATE API behind one execute-api interface endpoint, with cdk-nag on synth.
    const synthesized = synth({ endpointType: apigateway.EndpointType.PRIVATE }, true);
    app = synthesized.app;
    const { stack, vendor } = synthesized;
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    template = Template.fromStack(stack);
    apiLogicalId = stack.getLogicalId(vendor.api.node.defaultChild as CfnElement);
  });

  it('makes the REST API PRIVATE, attached to the given VPC endpoint', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: ['vpce-0123456789abcdef0'] },
    });
  });

  it('denies every request that does not come through the given VPC endpoint', () => {
    const api = template.findResources('AWS::ApiGateway::RestApi')[apiLogicalId];
    const policy = api?.Properties.Policy as { Statement: Array<Record<string, unknown>> } | undefined;
    const statements = policy?.Statement ?? [];
    expect(statements).toContainEqual({
      Sid: 'DenyOtherVpcEndpoints',
      Effect: 'Deny',
      Action: 'execute-api:Invoke',
      Principal: { AWS: '*' },
      Resource: 'execute-api:/*',
      Condition: { StringNotEquals: { 'aws:SourceVpce': ['vpce-0123456789abcdef0'] } },
    });
    // No Allow at all: same-account callers pass on their IAM grant alone (API Gateway's Table A).
    expect(statements.filter((s) => s.Effect === 'Allow')).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions without new findings', () => {
    // Act: synthesis runs the plugin and throws on any unacknowledged finding.
    expect(() => app.synth()).not.toThrow();
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });

  it('keeps the default API regional without any source-endpoint condition', () => {
    const { stack } = synth({});
    const regional = Template.fromStack(stack);
    regional.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'], VpcEndpointIds: Match.absent() },
    });
    expect(JSON.stringify(regional.toJSON())).not.toContain('aws:SourceVpce');
  });

  it('fails when endpointType is PRIVATE without any VPC endpoint', () => {
    expect(() => synth({ endpointType: apigateway.EndpointType.PRIVATE })).toThrow(
      'endpointType PRIVATE requires at least one execute-api interface endpoint in vpcEndpoints, got 0',
    );
  });

  it('fails when VPC endpoints are given to a regional API', () => {
    expect(() => synth({}, true)).toThrow(
      'vpcEndpoints only apply to endpointType PRIVATE, got 1 with endpointType REGIONAL',
    );
  });

  it('fails for an EDGE endpoint', () => {
    expect(() => synth({ endpointType: apigateway.EndpointType.EDGE })).toThrow(
      'endpointType must be REGIONAL or PRIVATE, got EDGE',
    );
  });
});
