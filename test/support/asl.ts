import { createRequire } from 'node:module';
import type { Template } from 'aws-cdk-lib/assertions';

/** asl-validator (CommonJS, no type declarations): validates a definition against the ASL JSON schemas. */
type AslValidator = (definition: unknown) => {
  readonly isValid: boolean;
  readonly errorsText: (separator?: string) => string;
};
export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

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

/** The definition of the template's one state machine, as Step Functions would receive it. */
export const stateMachineDefinition = <T>(template: Template): T => {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return JSON.parse(resolveIntrinsics(machines[0]?.Properties.DefinitionString)) as T;
};
