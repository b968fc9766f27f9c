import { App } from 'aws-cdk-lib';
import { vi } from 'vitest';

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

/**
 * One synthesis takes about 5 s on an idle machine; with eight suites synthesizing at once one took 49 s.
 * Infra test files call this first so hooks and tests that synthesize get a bound that holds on a machine
 * ten times slower, instead of the suite-wide 30 s.
 */
export const SYNTH_TIMEOUT_MS = 180_000;
export const allowSlowSynthesis = (): void => {
  vi.setConfig({ testTimeout: SYNTH_TIMEOUT_MS, hookTimeout: SYNTH_TIMEOUT_MS });
};
