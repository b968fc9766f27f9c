import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, type Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  DEFAULT_IDENTITY_HOSTS,
  DEFAULT_IDENTITY_TIMEOUT_MS,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_MIN_VALIDITY_SECONDS,
  DEFAULT_REFRESH_CONCURRENCY,
  ENV,
  METRICS_NAMESPACE,
} from '../functions/contract/index.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';
import { FUNCTION_BUNDLE, splitBundleCode } from './split-bundle.js';

/**
 * The handler source esbuild bundles at synth time. In this repository the construct runs from lib/*.ts
 * and bundles functions/<name>.ts; from the published package it runs from dist/lib/*.js, where only the
 * compiled dist/functions/<name>.js ships. Same relative path, TypeScript preferred.
 */
export const functionEntry = (name: string): string => {
  const source = fileURLToPath(new URL(`../functions/${name}.ts`, import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL(`../functions/${name}.js`, import.meta.url));
};

/** Values the construct resolved before building the functions. */
export interface ResolvedSettings {
  readonly tableName: string;
  readonly secretPrefix: string;
  readonly serviceName: string;
  readonly maxWait: Duration;
  readonly refreshPeriod: Duration;
}

/**
 * The environment both functions share, under the contract's keys (`ENV`), which `readRuntimeConfig`
 * (functions/config.ts) reads back. The fan-out adds the queue's keys to the refresher only.
 */
export function runtimeEnvironment(
  props: MarketoTokenVendorProps,
  settings: ResolvedSettings,
): Record<string, string> {
  return {
    [ENV.tableName]: settings.tableName,
    [ENV.secretPrefix]: settings.secretPrefix,
    [ENV.defaultMinValiditySeconds]: String(props.defaultMinValiditySeconds ?? DEFAULT_MIN_VALIDITY_SECONDS),
    [ENV.maxWaitMs]: String(settings.maxWait.toMilliseconds()),
    [ENV.leaseDurationMs]: String(props.leaseDuration?.toMilliseconds() ?? DEFAULT_LEASE_DURATION_MS),
    [ENV.identityAllowedHosts]: (props.identityAllowedHosts ?? DEFAULT_IDENTITY_HOSTS).join(','),
    [ENV.identityTimeoutMs]: String(props.identityTimeout?.toMilliseconds() ?? DEFAULT_IDENTITY_TIMEOUT_MS),
    // The refresher waits out every token that expires before its next run.
    [ENV.refreshHorizonSeconds]: String(settings.refreshPeriod.toSeconds()),
    [ENV.refreshConcurrency]: String(props.refreshConcurrency ?? DEFAULT_REFRESH_CONCURRENCY),
    [ENV.serviceName]: settings.serviceName,
    [ENV.metricsNamespace]: METRICS_NAMESPACE,
    // Source maps ship beside the bundles but are not enabled: `--enable-source-maps` costs about 11 ms of
    // every cold start (docs/benchmarks.md) and the handlers log error codes, not stacks. Set
    // NODE_OPTIONS=--enable-source-maps on a function to debug with TypeScript stack traces.
  };
}

/** What differs between the vend and the refresh function. */
export interface VendorFunctionOptions {
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly retryAttempts?: number;
  /**
   * Code splitting: the entry file holds only what start-up needs, dynamically imported modules load from
   * chunk files on first use (lib/split-bundle.ts). For the vend function, whose cold start is on a
   * consumer's critical path.
   */
  readonly splitCode?: boolean;
  /** Reserved (and maximum) concurrent executions; none when undefined. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One of the vendor's functions with its own log group and role, built on `scope` (the vendor) so that
 * construct ids, and with them logical ids, stay `<id>Logs`, `<id>Role`, `<id>Function`.
 */
export function createVendorFunction(
  scope: Construct,
  id: string,
  options: VendorFunctionOptions,
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetention,
    removalPolicy: options.removalPolicy,
  });
  // Own role instead of AWSLambdaBasicExecutionRole: logs only to its own group, nothing else implied.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the Marketo token vendor ${id.toLowerCase()} function`,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const code = options.splitCode
    ? { code: splitBundleCode(options.entry), handler: 'index.handler' }
    : { entry: options.entry, handler: 'handler' };
  const fn = new nodejs.NodejsFunction(scope, `${id}Function`, {
    ...code,
    description: options.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    role,
    environment: options.environment,
    retryAttempts: options.retryAttempts,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    // Ignored when `code` is given (the split bundle builds with the same options).
    ...(options.splitCode
      ? {}
      : {
          bundling: {
            minify: FUNCTION_BUNDLE.minify,
            sourceMap: FUNCTION_BUNDLE.sourceMap,
            sourcesContent: FUNCTION_BUNDLE.sourcesContent,
            format: nodejs.OutputFormat.ESM,
            mainFields: [...FUNCTION_BUNDLE.mainFields],
            // esbuild is a devDependency: CDK runs it locally. Never fall back to Docker (CI has no engine).
            forceDockerBundling: false,
            bundleAwsSDK: true,
            banner: FUNCTION_BUNDLE.banner,
          },
        }),
  });
  return fn;
}

/** Least privilege: secrets under the prefix, two table actions, the CMK through DynamoDB only. */
export function grantRuntimeAccess(
  scope: Construct,
  fn: nodejs.NodejsFunction,
  table: dynamodb.ITable,
  secretPrefix: string,
  key?: kms.IKey,
): void {
  const stack = Stack.of(scope);
  const secretsArn = stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretPrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadClientSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretsArn],
    }),
  );
  // The store only reads (GetItem) and writes with conditional UpdateItem; no Scan/Query/Put/Delete.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'TokenTable',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [table.tableArn],
    }),
  );
  // The refresher lists every client; vend lists an instance pool's members (GET /instances/{i}/token).
  // ListSecrets does not support resource-level permissions: `*` is the only valid resource.
  // It returns names and tags, never secret values; the code filters on the prefix.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ListClients',
      actions: ['secretsmanager:ListSecrets'],
      resources: ['*'],
    }),
  );
  if (key) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TableKey',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
  }
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (policy) {
    const secretsFinding = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}*]`;
    Validations.of(policy).acknowledge({
      id: secretsFinding,
      reason:
        'One secret per Marketo client under the prefix; clients are added without redeploying, so the prefix wildcard is the narrowest stable scope.',
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments/PutTelemetryRecords and secretsmanager:ListSecrets (instance pools, refresher) do not support resource-level permissions.',
    });
  }
}
