import { App } from 'aws-cdk-lib';

/**
 * An app whose stacks skip asset bundling (CDK's `aws:cdk:bundling-stacks` context): fine-grained
 * template assertions do not need real bundles, and esbuild runs only in the synth test.
 */
export const appWithoutBundling = (): App => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** A CloudFormation intrinsic as it appears in a synthesized template. */
export type Intrinsic = Record<string, unknown>;

/** `arn:${Partition}:execute-api:${Region}:${AccountId}:${apiId}/<suffix>` as CDK renders it. */
export const executeApiArn = (apiLogicalId: string, suffix: string): Intrinsic => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':execute-api:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':',
      { Ref: apiLogicalId },
      `/${suffix}`,
    ],
  ],
});
