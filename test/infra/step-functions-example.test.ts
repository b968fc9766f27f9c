import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenWorkflowStack } from '../../examples/step-functions/token-workflow-stack.js';
import { aslValidator, stateMachineDefinition } from '../support/asl.js';
import { appWithoutBundling } from './helpers.js';

describe('the Step Functions example (examples/step-functions)', () => {
  let definition: {
    StartAt: string;
    States: Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[] }> }>;
  };

  beforeAll(() => {
    const stack = new TokenWorkflowStack(appWithoutBundling(), 'Example');
    definition = stateMachineDefinition(Template.fromStack(stack));
    // Synthesizing the whole vendor takes seconds, and far longer while the full suite loads the machine.
  }, 120_000);

  it('synthesizes a state machine definition that asl-validator accepts (schemas and paths)', () => {
    const result = aslValidator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('fetches the token first and retries the vendor’s 503 and 429', () => {
    expect(definition.StartAt).toBe('GetMarketoToken');
    expect(definition.States.GetMarketoToken?.Retry?.[0]?.ErrorEquals).toEqual([
      'ApiGateway.503',
      'APIGateway.503',
      'ApiGateway.429',
      'APIGateway.429',
    ]);
  });
});
