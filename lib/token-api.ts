import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  GATEWAY_ERRORS,
  type GatewayErrorKind,
  gatewayResponseTemplate,
  ROUTES,
  resourceSegments,
} from '../functions/contract/index.js';
import { resourcePolicyStatements } from './api-authorization.js';
import type { ApiThrottle, MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/** Stage throttling when `apiThrottle` is not given (the deployable stack fills a half-given pair from it). */
export const DEFAULT_API_THROTTLE: ApiThrottle = { rateLimit: 100, burstLimit: 200 };

/** What the token API is built from. */
export interface TokenApiOptions {
  readonly props: MarketoTokenVendorProps;
  readonly stageName: string;
  /** Name of the REST API: the `ApiName` dimension of its metrics, so unique in the account and region. */
  readonly apiName: string;
  readonly vendFunction: lambda.IFunction;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Construct ids of the gateway responses, one per kind of the contract's table (a new kind fails compilation
 * here until it gets an id). The first six are the ids of 0.1.0: their logical ids must not change.
 */
const GATEWAY_RESPONSE_IDS: Readonly<Record<GatewayErrorKind, string>> = {
  BAD_REQUEST_PARAMETERS: 'BadRequestParameters',
  ACCESS_DENIED: 'AccessDenied',
  MISSING_AUTHENTICATION_TOKEN: 'MissingAuth',
  INVALID_SIGNATURE: 'InvalidSignature',
  EXPIRED_TOKEN: 'ExpiredSignature',
  DEFAULT_5XX: 'Default5xx',
  BAD_REQUEST_BODY: 'BadRequestBody',
  REQUEST_TOO_LARGE: 'RequestTooLarge',
  THROTTLED: 'Throttled',
  DEFAULT_4XX: 'Default4xx',
};

/**
 * The REST API on `scope` (the vendor, so ids stay `Api`, `ApiAccessLogs`, …): four SigV4 methods, request
 * validation, stage throttling and access logs, gateway errors in the handler's JSON shape.
 */
export function createTokenApi(scope: Construct, options: TokenApiOptions): apigateway.RestApi {
  const { props, stageName, apiName, vendFunction, logRetention, removalPolicy } = options;
  const setsCloudWatchRole = props.apiGatewayCloudWatchRole ?? true;
  const throttle = props.apiThrottle ?? DEFAULT_API_THROTTLE;
  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', { retention: logRetention, removalPolicy });

  const api = new apigateway.RestApi(scope, 'Api', {
    restApiName: apiName,
    description: 'Vends Marketo REST API access tokens (SigV4 only)',
    endpointConfiguration: {
      types: [props.endpointType ?? apigateway.EndpointType.REGIONAL],
      vpcEndpoints: props.vpcEndpoints,
    },
    // Access logs need the region's API Gateway CloudWatch Logs role (an account setting): on a fresh account or
    // region the stage fails to deploy without it. The role and the setting are retained, because once set
    // every API of the region logs through them (docs/deploy.md, "The API Gateway logging role").
    cloudWatchRole: setsCloudWatchRole,
    ...(setsCloudWatchRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
    policy: new iam.PolicyDocument({ statements: resourcePolicyStatements(scope, props) }),
    defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    deployOptions: {
      stageName: stageName,
      tracingEnabled: true,
      metricsEnabled: true,
      // Tokens must never be cached by the gateway or written to its logs.
      cacheClusterEnabled: false,
      cachingEnabled: false,
      dataTraceEnabled: false,
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
      accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
      // Who asked for which client, never the body (which holds the token).
      accessLogFormat: apigateway.AccessLogFormat.custom(
        JSON.stringify({
          requestId: apigateway.AccessLogField.contextRequestId(),
          requestTime: apigateway.AccessLogField.contextRequestTime(),
          httpMethod: apigateway.AccessLogField.contextHttpMethod(),
          path: apigateway.AccessLogField.contextPath(),
          status: apigateway.AccessLogField.contextStatus(),
          responseLength: apigateway.AccessLogField.contextResponseLength(),
          integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
          sourceIp: apigateway.AccessLogField.contextIdentitySourceIp(),
          callerAccount: apigateway.AccessLogField.contextIdentityAccountId(),
          userArn: apigateway.AccessLogField.contextIdentityUserArn(),
          errorType: apigateway.AccessLogField.contextErrorResponseType(),
        }),
      ),
    },
  });

  const integration = new apigateway.LambdaIntegration(vendFunction, {
    proxy: true,
    allowTestInvoke: false,
  });
  // API Gateway only checks that parameters are present (their format is the handler's job); the
  // invalidate body is checked against a schema whatever its content type (`$default`).
  const validator = api.addRequestValidator('RequestValidator', {
    requestValidatorName: 'parameters-and-body',
    validateRequestParameters: true,
    validateRequestBody: true,
  });
  const invalidateModel = api.addModel('InvalidateRequest', {
    contentType: 'application/json',
    description: 'The access token a consumer saw rejected with Marketo error 601 or 602',
    schema: {
      schema: apigateway.JsonSchemaVersion.DRAFT4,
      title: 'InvalidateRequest',
      type: apigateway.JsonSchemaType.OBJECT,
      required: ['accessToken'],
      properties: {
        accessToken: { type: apigateway.JsonSchemaType.STRING, minLength: 1, maxLength: 2048 },
      },
    },
  });
  const methodOptions = (
    pathParameter: string,
    requestModels?: Record<string, apigateway.IModel>,
  ): apigateway.MethodOptions => ({
    authorizationType: apigateway.AuthorizationType.IAM,
    requestValidator: validator,
    requestParameters: {
      [`method.request.path.${pathParameter}`]: true,
      'method.request.querystring.minValidity': false,
    },
    requestModels,
  });

  // Resources and methods from the contract's route table (`resourceForPath` reuses shared parents, so the
  // construct ids are the path parts: `tokens`, `{clientId}`, `invalidate`, …).
  for (const route of ROUTES) {
    const resource = api.root.resourceForPath(resourceSegments(route).join('/'));
    const requestModels = route.body === 'rejected-token' ? { $default: invalidateModel } : undefined;
    resource.addMethod(route.method, integration, methodOptions(route.pathParameter, requestModels));
  }

  // Gateway-made errors in the same `{error:{code,message}}` shape the handler uses. The DEFAULT_4XX/5XX
  // fallbacks set no status: a status there would rewrite every status of the class, turning a crashed
  // function's 502 and an integration timeout's 504 into 500 (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
  for (const entry of Object.values(GATEWAY_ERRORS)) {
    api.addGatewayResponse(GATEWAY_RESPONSE_IDS[entry.kind], {
      type: apigateway.ResponseType.of(entry.kind),
      ...(entry.setStatus ? { statusCode: String(entry.httpStatus) } : {}),
      responseHeaders: { 'Cache-Control': "'no-store'" },
      templates: { 'application/json': gatewayResponseTemplate(entry.kind) },
    });
  }

  Validations.of(api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG3',
    reason:
      'Every method requires SigV4 (AWS_IAM) and a resource policy limits callers to configured AWS accounts; stage throttling bounds load. A WAF web ACL can be associated by the operator.',
  });
  Validations.of(api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG6',
    reason:
      'Access logging is on. Execution logging stays off: it could log token-bearing payloads, and access logs already record who asked for which client.',
  });
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    Validations.of(cloudWatchRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's own managed policy for its regional CloudWatch Logs role (the account setting serves every API of the region, so it cannot be scoped to this stack's log group).",
    });
  }
  for (const method of api.methods) {
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are AWS workloads authenticated with SigV4 (AWS_IAM); there are no end users for Cognito.',
    });
  }
  return api;
}
