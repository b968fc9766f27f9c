import { createRequire } from 'node:module';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenWorkflowStack } from '../../examples/step-functions/token-workflow-stack.js';
import { appWithoutBundling } from './helpers.js';

/** asl-validator (CommonJS, no type declarations): validates a definition against the ASL JSON schemas. */
type AslValidator = (definition: unknown) => {
  readonly isValid: boolean;
  readonly errorsText: (separator?: string) => string;
};
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** Values for the pseudo parameters and references the definition is joined from. */
const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '111111111111',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resolves `Fn::Join` / `Ref` / `Fn::GetAtt` to plain strings, as CloudFormation would at deploy time. */
const resolveIntrinsics = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveIntrinsics).join(separator);
  }
  if ('Ref' in node) return PSEUDO[node.Ref as string] ?? `ref${String(node.Ref).toLowerCase()}`;
  if ('Fn::GetAtt' in node)
    return `arn:aws:states:eu-west-1:111111111111:${(node['Fn::GetAtt'] as string[])[0]}`;
  throw new Error(`unexpected intrinsic ${JSON.stringify(value)}`);
};

describe('the Step Functions example (examples/step-functions)', () => {
  let definition: {
    StartAt: string;
    States: Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[] }> }>;
  };

  beforeAll(() => {
    const stack = new TokenWorkflowStack(appWithoutBundling(), 'Example');
    const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
    const [machine] = Object.values(machines);
    definition = JSON.parse(resolveIntrinsics(machine?.Properties.DefinitionString));
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
      'ApiGateway.429',
    ]);
  });
});
