import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('MarketoTokenVendor with default props', () => {
  let template: Template;
  let resources: Resources;
  const logicalId = (type: string, pathPart: string): string => {
    const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(pathPart));
    expect(ids).toHaveLength(1);
    return ids[0] as string;
  };

  beforeAll(() => {
    // Prepare: synthesize once for the whole file.
    const app = appWithoutBundling();
    const stack = new Stack(app, 'Defaults');
    new MarketoTokenVendor(stack, 'Vendor');
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources as Resources;
  });

  describe('REST API', () => {
    it('has exactly the four token methods, the four budget permit methods and the six Bulk API slot methods, every one requiring AWS_IAM', () => {
      const methods = template.findResources('AWS::ApiGateway::Method');
      const summary = Object.values(methods).map((m) => ({
        method: m.Properties.HttpMethod,
        auth: m.Properties.AuthorizationType,
      }));
      expect(summary).toHaveLength(14);
      expect(summary.every((m) => m.auth === 'AWS_IAM')).toBe(true);
      expect(summary.map((m) => m.method).sort()).toEqual(['GET', 'GET', ...Array(12).fill('POST')]);
    });

    it('has no OPTIONS (CORS) method or any method without IAM authorization', () => {
      template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' }, 0);
      template.resourcePropertiesCountIs(
        'AWS::ApiGateway::Method',
        { AuthorizationType: Match.not('AWS_IAM') },
        0,
      );
    });

    it('serves the client routes (GET token, POST invalidate, POST permits[/release], POST bulk-slots[/renew|/release]) and the same for instance pools', () => {
      const paths = Object.values(resources)
        .filter((r) => r.Type === 'AWS::ApiGateway::Resource')
        .map((r) => r.Properties.PathPart)
        .sort();
      expect(paths).toEqual([
        'bulk-slots',
        'bulk-slots',
        'instances',
        'invalidate',
        'invalidate',
        'permits',
        'permits',
        'release',
        'release',
        'release',
        'release',
        'renew',
        'renew',
        'token',
        'tokens',
        '{clientId}',
        '{instance}',
      ]);
    });

    it('requires the path parameter and allows an optional minValidity query parameter', () => {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        RequestParameters: {
          'method.request.path.clientId': true,
          'method.request.querystring.minValidity': false,
        },
        RequestValidatorId: { Ref: Match.stringLikeRegexp('RequestValidator') },
      });
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        RequestParameters: Match.objectLike({ 'method.request.path.instance': true }),
      });
      template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
        ValidateRequestParameters: true,
        ValidateRequestBody: true,
      });
    });

    it('checks the invalidate body for an accessToken whatever its content type', () => {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        RequestModels: { $default: { Ref: Match.stringLikeRegexp('InvalidateRequest') } },
      });
      template.hasResourceProperties('AWS::ApiGateway::Model', {
        Schema: Match.objectLike({ required: ['accessToken'] }),
      });
    });

    it('sends every method to the vend function through a Lambda proxy integration', () => {
      const vendId = logicalId('AWS::Lambda::Function', 'VendFunction');
      const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
      for (const method of methods) {
        const integration = method.Properties.Integration as { Type: string; Uri: unknown };
        expect(integration.Type).toBe('AWS_PROXY');
        expect(JSON.stringify(integration.Uri)).toContain(vendId);
      }
    });

    it('has a stage without caching or data tracing, throttled, traced and access-logged', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'v1',
        CacheClusterEnabled: false,
        TracingEnabled: true,
        AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('userArn') },
        MethodSettings: [
          Match.objectLike({
            CachingEnabled: false,
            DataTraceEnabled: false,
            ThrottlingRateLimit: 100,
            ThrottlingBurstLimit: 200,
            HttpMethod: '*',
            ResourcePath: '/*',
          }),
        ],
      });
    });

    it('is regional, and its resource policy holds no Allow, only a Deny for callers of other accounts', () => {
      // Same-account callers vend what their IAM policy grants (test/infra/authorization.test.ts).
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        EndpointConfiguration: { Types: ['REGIONAL'] },
        Policy: {
          Statement: [
            {
              Sid: 'DenyCallersOutsideAllowed',
              Action: 'execute-api:Invoke',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: 'execute-api:/*',
              Condition: { StringNotEquals: { 'aws:PrincipalAccount': [{ Ref: 'AWS::AccountId' }] } },
            },
          ],
        },
      });
    });

    it('answers gateway errors in the {error:{code,message}} shape', () => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'BAD_REQUEST_PARAMETERS',
        StatusCode: '400',
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"InvalidRequest"') },
      });
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'ACCESS_DENIED',
        StatusCode: '403',
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"AccessDenied"') },
      });
    });
  });

  describe('functions', () => {
    it('run Node.js 24 on arm64 with active tracing', () => {
      template.resourcePropertiesCountIs(
        'AWS::Lambda::Function',
        { Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } },
        2,
      );
    });

    it('give the vend function a timeout covering the 24 s wait budget within API Gateway’s 29 s', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('^Vends'),
        Timeout: 29,
        MemorySize: 512,
      });
    });

    it('give the refresher 5 minutes (an hourly run lists every client; no run waits for an expiry) and no async retries', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('^Keeps every'),
        Timeout: 300,
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId('AWS::Lambda::Function', 'RefreshFunction') },
        MaximumRetryAttempts: 0,
      });
    });

    it('receive the runtime contract environment', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('^Vends'),
        Environment: {
          Variables: {
            TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'VendorTable') },
            SECRET_PREFIX: 'marketo-token-vendor/clients/',
            DEFAULT_MIN_VALIDITY_SECONDS: '20',
            MAX_WAIT_MS: '24000',
            LEASE_DURATION_MS: '15000',
            IDENTITY_ALLOWED_HOSTS: '*.mktorest.com',
            IDENTITY_TIMEOUT_MS: '5000',
            REFRESH_HORIZON_SECONDS: '60',
            REFRESH_CONCURRENCY: '16',
            POWERTOOLS_SERVICE_NAME: 'Defaults-Vendor',
            POWERTOOLS_METRICS_NAMESPACE: 'MarketoTokenVendor',
            BUDGET_TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'BudgetTable') },
            BUDGET_ON_STORE_FAILURE: 'open',
          },
        },
      });
    });

    it('log to their own log groups with one month retention', () => {
      for (const name of ['VendFunction', 'RefreshFunction']) {
        const fn = resources[logicalId('AWS::Lambda::Function', name)];
        const group =
          (fn?.Properties.LoggingConfig as { LogGroup: { Ref: string } } | undefined)?.LogGroup.Ref ?? '';
        expect(resources[group]?.Properties.RetentionInDays).toBe(30);
      }
    });
  });

  describe('token table', () => {
    it('is pay-per-request with partition key clientId and TTL on ttl', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'clientId', KeyType: 'HASH' }],
        // The refresh index's keys are attributes too.
        AttributeDefinitions: [
          { AttributeName: 'clientId', AttributeType: 'S' },
          { AttributeName: 'refreshDue', AttributeType: 'S' },
          { AttributeName: 'refreshAt', AttributeType: 'N' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      });
    });

    it('is encrypted with the AWS-managed key and has point-in-time recovery off', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        // SSEEnabled without a key id is the AWS-managed key aws/dynamodb (the AWS-owned key is SSEEnabled false).
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      });
    });

    it('is retained when removed from the stack', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });
  });

  describe('IAM', () => {
    const secretArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:marketo-token-vendor/clients/*',
        ],
      ],
    };
    const statementsOf = (roleName: string): unknown => {
      const roleId = logicalId('AWS::IAM::Role', roleName);
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter(
        (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      );
      expect(policies).toHaveLength(1);
      return (policies[0]?.Properties.PolicyDocument as { Statement: unknown } | undefined)?.Statement;
    };
    const common = (name: string) => [
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId('AWS::Logs::LogGroup', `${name}Logs`), 'Arn'] },
      },
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Sid: 'ReadClientSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretArn,
      },
      {
        Sid: 'TokenTable',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'VendorTable'), 'Arn'] },
      },
    ];

    it('lets the vend role write its logs, read secrets under the prefix, Get/Update the table and list pool members, nothing else', () => {
      expect(statementsOf('VendRole')).toEqual([
        ...common('Vend'),
        { Sid: 'ListClients', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
        {
          Sid: 'BudgetTable',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'BudgetTable'), 'Arn'] },
        },
      ]);
    });

    it('gives the refresh role the same plus querying the refresh index and its own queue, nothing else', () => {
      const queueArn = { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'RefreshBatches'), 'Arn'] };
      expect(statementsOf('RefreshRole')).toEqual([
        ...common('Refresh'),
        { Sid: 'ListClients', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
        {
          Sid: 'RefreshIndex',
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: {
            'Fn::Join': [
              '',
              [
                { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'VendorTable'), 'Arn'] },
                '/index/RefreshDue',
              ],
            ],
          },
        },
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: queueArn,
        },
        {
          Effect: 'Allow',
          Action: [
            'sqs:ReceiveMessage',
            'sqs:ChangeMessageVisibility',
            'sqs:GetQueueUrl',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
          ],
          Resource: queueArn,
        },
      ]);
    });

    it('alarms when refresh batches reach the dead-letter queue', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'RefreshDeadLetters'), 'QueueName'] },
          },
        ],
        Threshold: 1,
      });
    });

    it('fans the refresher out over an encrypted, TLS-only queue with a dead-letter queue', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 10 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            REFRESH_FANOUT_THRESHOLD: Match.absent(),
            REFRESH_BATCH_SIZE: '100',
          }),
        },
      });
    });

    it('keeps a refresh index on the token table: the due instant of each token’s successor, and its pool', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: 'clientId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'RefreshDue',
            KeySchema: [
              { AttributeName: 'refreshDue', KeyType: 'HASH' },
              { AttributeName: 'refreshAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['instance'] },
          },
        ],
      });
    });

    it('attaches no managed policies to either function role', () => {
      const functionRoles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) =>
        /^Vendor(Vend|Refresh)Role/.test(id),
      );
      expect(functionRoles).toHaveLength(2);
      for (const [, role] of functionRoles) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it("has no other role than the functions' and API Gateway's CloudWatch Logs role", () => {
      expect(Object.keys(template.findResources('AWS::IAM::Role')).sort()).toEqual([
        expect.stringMatching(/^VendorApiCloudWatchRole/),
        expect.stringMatching(/^VendorRefreshRole/),
        expect.stringMatching(/^VendorVendRole/),
      ]);
    });
  });

  describe('refresh schedule', () => {
    it('runs the refresher every minute', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'RefreshFunction'), 'Arn'] },
            RetryPolicy: { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 2 },
          }),
        ],
      });
    });
  });

  describe('alarms', () => {
    it('watch refresh failures and Identity errors on the custom metrics with the service dimension', () => {
      for (const metricName of ['RefreshFailed', 'IdentityErrors']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'MarketoTokenVendor',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'Defaults-Vendor' }],
          Statistic: 'Sum',
        });
      }
    });

    it('watch API 5xx (less the intended 503 TokenRotating answers) and errors and throttles of both functions', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'errors - FILL(rotating, 0)' }),
          Match.objectLike({
            Id: 'errors',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError' }),
            }),
          }),
          Match.objectLike({
            Id: 'rotating',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ Namespace: 'MarketoTokenVendor', MetricName: 'ApiTokenRotating' }),
            }),
          }),
        ]),
      });
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { Namespace: 'AWS/Lambda', MetricName: 'Errors' },
        2,
      );
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { Namespace: 'AWS/Lambda', MetricName: 'Throttles' },
        2,
      );
      template.resourceCountIs('AWS::CloudWatch::Alarm', 11); // ten + the budget's daily quota alarm
    });

    it('watch the refresher’s backlog: overdue refreshes in 3 of 5 minutes, or runs that stopped reporting', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'MarketoTokenVendor',
        MetricName: 'RefreshOverdue',
        Dimensions: [{ Name: 'service', Value: 'Defaults-Vendor' }],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'breaching',
      });
    });

    it('have no actions when no topic is given', () => {
      template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: Match.anyValue() }, 0);
    });
  });
});
