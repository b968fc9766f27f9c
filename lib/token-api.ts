import type { RemovalPolicy } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { resourcePolicyStatements } from './api-authorization.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/** What the token API is built from. */
export interface TokenApiOptions {
  readonly props: MarketoTokenVendorProps;
  readonly stageName: string;
  readonly vendFunction: lambda.IFunction;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The REST API on `scope` (the vendor, so ids stay `Api`, `ApiAccessLogs`, …): four SigV4 methods, request
 * validation, stage throttling and access logs, gateway errors in the handler's JSON shape.
 */
export function createTokenApi(scope: Construct, options: TokenApiOptions): apigateway.RestApi {
  const { props, stageName, vendFunction, logRetention, removalPolicy } = options;
  const throttle = props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 };
  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', { retention: logRetention, removalPolicy });

  const api = new apigateway.RestApi(scope, 'Api', {
    description: 'Vends Marketo REST API access tokens (SigV4 only)',
    endpointConfiguration: {
      types: [props.endpointType ?? apigateway.EndpointType.REGIONAL],
      vpcEndpoints: props.vpcEndpoints,
    },
    // Execution logging needs the account-wide API Gateway CloudWatch role, a singleton managed elsewhere.
    cloudWatchRole: false,
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

  const client = api.root.addResource('tokens').addResource('{clientId}');
  client.addMethod('GET', integration, methodOptions('clientId'));
  client
    .addResource('invalidate')
    .addMethod('POST', integration, methodOptions('clientId', { $default: invalidateModel }));
  const instance = api.root.addResource('instances').addResource('{instance}');
  instance.addResource('token').addMethod('GET', integration, methodOptions('instance'));
  instance
    .addResource('invalidate')
    .addMethod('POST', integration, methodOptions('instance', { $default: invalidateModel }));

  // Gateway-made errors in the same `{error:{code,message}}` shape the handler uses.
  const gatewayError = (id: string, type: apigateway.ResponseType, statusCode: string, code: string) =>
    api.addGatewayResponse(id, {
      type,
      statusCode,
      responseHeaders: { 'Cache-Control': "'no-store'" },
      templates: {
        'application/json': `{"error":{"code":"${code}","message":$context.error.messageString}}`,
      },
    });
  gatewayError(
    'BadRequestParameters',
    apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
    '400',
    'InvalidRequest',
  );
  gatewayError('AccessDenied', apigateway.ResponseType.ACCESS_DENIED, '403', 'AccessDenied');
  gatewayError('MissingAuth', apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, '403', 'AccessDenied');
  gatewayError('InvalidSignature', apigateway.ResponseType.INVALID_SIGNATURE, '403', 'AccessDenied');
  gatewayError('ExpiredSignature', apigateway.ResponseType.EXPIRED_TOKEN, '403', 'AccessDenied');
  gatewayError('Default5xx', apigateway.ResponseType.DEFAULT_5XX, '500', 'InternalError');

  Validations.of(api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG3',
    reason:
      'Every method requires SigV4 (AWS_IAM) and a resource policy limits callers to configured AWS accounts; stage throttling bounds load. A WAF web ACL can be associated by the operator.',
  });
  Validations.of(api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG6',
    reason:
      'Access logging is on. Execution logging needs the account-wide API Gateway CloudWatch role (a singleton managed outside this stack) and could log token-bearing payloads.',
  });
  for (const method of api.methods) {
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are AWS workloads authenticated with SigV4 (AWS_IAM); there are no end users for Cognito.',
    });
  }
  return api;
}
