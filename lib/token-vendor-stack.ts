import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { MarketoTokenVendor } from './marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/**
 * One principal granted by ARN, typically a role in another account (which also needs its account admitted
 * by `vendor.allowedAccounts` / `vendor.organizationId` and its own account's IAM allow). Give at least one
 * client id or instance: a grant on every client is only available through the construct.
 */
export interface VendGrant {
  /** ARN of the role or user. */
  readonly principalArn: string;
  /**
   * Client ids it may vend (`grantVend`).
   * @default - none
   */
  readonly clientIds?: string[];
  /**
   * Instance pools it may vend from (`grantVendInstance`).
   * @default - none
   */
  readonly instances?: string[];
}

/** Properties of the deployable stack; resources that live elsewhere are referenced by ARN. */
export interface TokenVendorStackProps extends StackProps {
  /**
   * Construct settings (everything but the references below).
   * @default - the construct's defaults
   */
  readonly vendor?: Omit<
    MarketoTokenVendorProps,
    'encryptionKey' | 'alarmTopic' | 'allowedPrincipals' | 'endpointType' | 'vpcEndpoints'
  >;
  /**
   * ARN of a customer-managed KMS key for the token table.
   * @default - the AWS-managed key
   */
  readonly tableKmsKeyArn?: string;
  /**
   * ARN of an SNS topic for alarm notifications.
   * @default - alarms without actions
   */
  readonly alarmTopicArn?: string;
  /**
   * ARNs of principals (roles, users) that may call the API at all, besides `vendor.allowedAccounts` (restricts
   * only: see `MarketoTokenVendorProps.allowedPrincipals`).
   * @default - none
   */
  readonly allowedPrincipalArns?: string[];
  /**
   * Principals granted per client or instance pool by ARN: a resource-policy Allow naming exactly each one
   * on exactly its routes (see `MarketoTokenVendor.grantVend`).
   * @default - none
   */
  readonly vendGrants?: VendGrant[];
  /**
   * Ids of interface VPC endpoints for `execute-api` (`vpce-…`): when given, the API is PRIVATE and only
   * reachable through them.
   * @default - a regional API
   */
  readonly vpcEndpointIds?: string[];
}

/** The Marketo token vendor as one deployable stack, with its endpoints as outputs. */
export class TokenVendorStack extends Stack {
  /** The vendor construct. */
  public readonly vendor: MarketoTokenVendor;

  constructor(scope: Construct, id: string, props: TokenVendorStackProps = {}) {
    super(scope, id, props);
    this.vendor = new MarketoTokenVendor(this, 'Vendor', {
      ...props.vendor,
      encryptionKey: props.tableKmsKeyArn
        ? kms.Key.fromKeyArn(this, 'TableKey', props.tableKmsKeyArn)
        : undefined,
      alarmTopic: props.alarmTopicArn
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
        : undefined,
      allowedPrincipals: props.allowedPrincipalArns?.map((arn) => new iam.ArnPrincipal(arn)),
      ...(props.vpcEndpointIds && props.vpcEndpointIds.length > 0
        ? {
            endpointType: apigateway.EndpointType.PRIVATE,
            vpcEndpoints: props.vpcEndpointIds.map((vpcEndpointId, i) =>
              ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `ApiVpcEndpoint${i}`, {
                vpcEndpointId,
                port: 443,
              }),
            ),
          }
        : {}),
    });
    for (const grant of props.vendGrants ?? []) {
      const clientIds = grant.clientIds ?? [];
      const instances = grant.instances ?? [];
      if (clientIds.length === 0 && instances.length === 0) {
        throw new Error(
          `vendGrants entries need clientIds or instances (a grant on every client is construct-only), got ${JSON.stringify(grant)}`,
        );
      }
      const principal = new iam.ArnPrincipal(grant.principalArn);
      if (clientIds.length > 0) this.vendor.grantVend(principal, ...clientIds);
      if (instances.length > 0) this.vendor.grantVendInstance(principal, ...instances);
    }
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the token API (SigV4, service execute-api)',
      value: this.vendor.api.url,
    });
    new CfnOutput(this, 'TableName', { value: this.vendor.table.tableName });
    new CfnOutput(this, 'VendFunctionName', {
      description: 'For direct invokes ({clientId, minValidity?})',
      value: this.vendor.vendFunction.functionName,
    });
    new CfnOutput(this, 'SecretPrefix', { value: this.vendor.secretPrefix });
  }
}
