import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

const synth = (props: MarketoTokenVendorProps = {}) => {
  const stack = new Stack(appWithoutBundling(), 'Provisioned');
  const vendor = new MarketoTokenVendor(stack, 'Vendor', props);
  const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
  vendor.grantInvoke(consumer);
  return { vendor, template: Template.fromStack(stack) };
};

describe('vendProvisionedConcurrency', () => {
  it('keeps environments warm on an alias that the API and direct invokes call', () => {
    const { vendor, template } = synth({ vendProvisionedConcurrency: 3 });
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 3 },
    });
    const aliasId = Object.keys(template.findResources('AWS::Lambda::Alias'))[0] as string;
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.every((m) => JSON.stringify(m.Properties.Integration.Uri).includes(aliasId))).toBe(true);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { Ref: aliasId } }],
      },
    });
    expect(vendor.vendAlias).toBeDefined();
  });

  it('creates no alias by default: environments start on demand', () => {
    const { vendor, template } = synth();
    template.resourceCountIs('AWS::Lambda::Alias', 0);
    expect(vendor.vendAlias).toBeUndefined();
  });

  it('fails synthesis asking for more than the reserved concurrency, naming the value', () => {
    expect(() => synth({ vendReservedConcurrency: 10, vendProvisionedConcurrency: 11 })).toThrow(
      'vendProvisionedConcurrency must be a whole number from 1 to 10 (at most vendReservedConcurrency), got 11',
    );
  });
});
