/**
 * Alarms that mean something and limits that hold (issue 22).
 *
 * - API Gateway's `5XXError` counts every 5xx answer, the vendor's intended `503 TokenRotating` included
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html);
 *   the alarm is evaluated as CloudWatch would by test/support/alarm-evaluator.ts.
 * - API Gateway REST ends an integration at 29 s ("Maximum integration timeout ... 29 seconds",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html); Lambda timeouts are whole
 *   seconds (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html, `Timeout`).
 * - Reserved concurrency is a function's maximum concurrency
 *   (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); when Lambda refuses an
 *   invocation, API Gateway answers 500 (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
 * - The custom metrics' `service` dimension tells vendors apart, or their alarms count each other's datapoints.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MarketoTokenVendor } from '../../lib/marketo-token-vendor.js';
import type { MarketoTokenVendorProps } from '../../lib/marketo-token-vendor-props.js';
import { type AlarmProperties, breaches } from '../support/alarm-evaluator.js';
import { allowSlowSynthesis, appWithoutBundling } from './helpers.js';

allowSlowSynthesis();

const synthesize = (props: MarketoTokenVendorProps = {}) => {
  const stack = new Stack(appWithoutBundling(), 'Limits');
  const vendor = new MarketoTokenVendor(stack, 'Vendor', props);
  return { stack, vendor, template: Template.fromStack(stack) };
};

const alarmProperties = (template: Template, idPart: string): AlarmProperties => {
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
    id.includes(idPart),
  );
  expect(alarms).toHaveLength(1);
  return (alarms[0] as [string, { Properties: AlarmProperties }])[1].Properties;
};

describe('Api5xxAlarm', () => {
  let alarm: AlarmProperties;
  beforeAll(() => {
    alarm = alarmProperties(synthesize().template, 'Api5xxAlarm');
  });

  it('stays quiet on 40 intended 503 TokenRotating answers in five minutes', () => {
    expect(breaches(alarm, { '5XXError': 40, ApiTokenRotating: 40 })).toBe(false);
  });

  it('fires on 5 unexpected 5xx answers beside 40 intended ones', () => {
    expect(breaches(alarm, { '5XXError': 45, ApiTokenRotating: 40 })).toBe(true);
  });

  it('fires on 5 unexpected 5xx answers in a period without any intended one', () => {
    expect(breaches(alarm, { '5XXError': 5 })).toBe(true);
  });
});

describe('the vend function’s concurrency', () => {
  it('is bounded by default (100 reserved executions)', () => {
    synthesize().template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Vends'),
      ReservedConcurrentExecutions: 100,
    });
  });

  it('takes another bound from vendReservedConcurrency', () => {
    synthesize({ vendReservedConcurrency: 20 }).template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Vends'),
      ReservedConcurrentExecutions: 20,
    });
  });

  it('is left to the account’s unreserved pool with vendReservedConcurrency: false', () => {
    synthesize({ vendReservedConcurrency: false }).template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Vends'),
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('refuses a bound that is not a positive whole number, showing it', () => {
    expect(() => synthesize({ vendReservedConcurrency: 0 })).toThrow(
      'vendReservedConcurrency must be a whole number from 1 to 10000, or false for no bound, got 0',
    );
  });
});

describe('maxWait against API Gateway’s 29 s integration timeout', () => {
  it('gives the vend function, by default, a timeout API Gateway does not cut short (at most 29 s)', () => {
    const timeouts = Object.values(synthesize().template.findResources('AWS::Lambda::Function'))
      .filter((fn) => String(fn.Properties.Description).startsWith('Vends'))
      .map((fn) => fn.Properties.Timeout as number);
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0]).toBeLessThanOrEqual(29);
  });

  it('accepts a sub-second maxWait of 23,500 ms, rounding the function timeout up to 29 s', () => {
    synthesize({ maxWait: Duration.millis(23_500) }).template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Vends'),
      Timeout: 29,
    });
  });

  it.each([24_001, 28_500, 29_000])('refuses %i ms with a message naming the 29 s limit', (ms) => {
    expect(() => synthesize({ maxWait: Duration.millis(ms) })).toThrow(
      `maxWait must be from 1 s to 24 s: the vend function's timeout is maxWait + 5 s (the last Identity call) and API Gateway ends every integration at 29 s, so a longer wait would answer 504; got ${ms} ms`,
    );
  });
});

describe('two vendors in one account', () => {
  let first: MarketoTokenVendor;
  let second: MarketoTokenVendor;
  let template: Template;
  beforeAll(() => {
    const stack = new Stack(appWithoutBundling(), 'TwoVendors');
    first = new MarketoTokenVendor(stack, 'Sales');
    second = new MarketoTokenVendor(stack, 'Support');
    template = Template.fromStack(stack);
  });

  it('get distinct default service names, as they get distinct API names', () => {
    expect(first.serviceName).not.toBe(second.serviceName);
    expect([first.serviceName, second.serviceName]).toEqual(['TwoVendors-Sales', 'TwoVendors-Support']);
  });

  it('give each function the service name its own alarms read', () => {
    const services = Object.values(template.findResources('AWS::Lambda::Function'))
      .map(
        (fn) => (fn.Properties.Environment as { Variables: Record<string, string> } | undefined)?.Variables,
      )
      .flatMap((variables) =>
        variables?.POWERTOOLS_SERVICE_NAME ? [variables.POWERTOOLS_SERVICE_NAME] : [],
      );
    expect([...new Set(services)].sort()).toEqual(['TwoVendors-Sales', 'TwoVendors-Support']);
  });
});

// A Metrics Insights query that returns one time series per client makes each a contributor of the alarm
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html).
describe('CredentialsRejectedAlarm', () => {
  it('watches ClientCredentialsRejected of this vendor one time series per client id, so it names the client', () => {
    const { template, vendor } = synthesize();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^Marketo Identity rejected the credentials of a client'),
      Metrics: [
        Match.objectLike({
          Expression: `SELECT MAX(ClientCredentialsRejected) FROM SCHEMA("MarketoTokenVendor", clientId, service) WHERE service = '${vendor.serviceName}' GROUP BY clientId`,
          Period: 300,
        }),
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});
