import { Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

/*
 * Where a Step Functions workflow keeps a state's output: a STANDARD workflow in its execution history (kept
 * 90 days, returned by states:GetExecutionHistory with its data by default); any workflow in its CloudWatch
 * logs when they include execution data. Express workflows have no execution history.
 * https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
 */

/** A state machine that keeps the output of a given state where readers of its history or logs see it. */
export interface KeepingWorkflow {
  /** Construct path of the state machine. */
  readonly path: string;
  /** `history`: a STANDARD workflow (or a distributed map's STANDARD child executions); `logs`: execution data logged. */
  readonly keeps: 'history' | 'logs';
  /** The log level, when `keeps` is `logs`. */
  readonly level?: string;
}

interface AslStates {
  readonly States?: Record<string, AslState>;
}
interface AslState extends AslStates {
  readonly Comment?: string;
  readonly Branches?: AslStates[];
  readonly Iterator?: AslStates;
  readonly ItemProcessor?: AslStates & {
    readonly ProcessorConfig?: { readonly Mode?: string; readonly ExecutionType?: string };
  };
}

/** The definition of a CDK state machine as JSON, with every deploy-time value replaced by a placeholder. */
const definitionOf = (machine: sfn.StateMachine): AslStates | undefined => {
  const resource = machine.node.defaultChild as sfn.CfnStateMachine | undefined;
  const resolved: unknown = resource ? Stack.of(machine).resolve(resource.definitionString) : undefined;
  // Intrinsics only appear inside JSON strings of the definition: a placeholder keeps it valid JSON.
  const text =
    typeof resolved === 'string'
      ? resolved
      : typeof resolved === 'object' && resolved !== null && 'Fn::Join' in resolved
        ? ((resolved as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] ?? [])
            .map((part) => (typeof part === 'string' ? part : 'deploy-time'))
            .join('')
        : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AslStates;
  } catch {
    return undefined;
  }
};

/** The execution type a state with `marker` in its comment runs under (a distributed map's children have their own). */
const executionTypeOf = (graph: AslStates, marker: string, type: string): string | undefined => {
  for (const state of Object.values(graph.States ?? {})) {
    if (state.Comment?.includes(marker)) return type;
    const nested: Array<[AslStates, string]> = [
      ...(state.Branches ?? []).map((branch): [AslStates, string] => [branch, type]),
      ...(state.Iterator ? [[state.Iterator, type] as [AslStates, string]] : []),
    ];
    const processor = state.ItemProcessor;
    if (processor) {
      const config = processor.ProcessorConfig;
      const distributed = config?.Mode === 'DISTRIBUTED';
      nested.push([processor, distributed ? (config?.ExecutionType ?? 'STANDARD') : type]);
    }
    for (const [child, childType] of nested) {
      const found = executionTypeOf(child, marker, childType);
      if (found !== undefined) return found;
    }
  }
  return undefined;
};

/**
 * The state machines of the app that hold the state whose comment contains `marker` and keep its output in
 * their execution history or logs.
 */
export function workflowsKeepingState(scope: IConstruct, marker: string): KeepingWorkflow[] {
  const machines = scope.node.root.node
    .findAll()
    .filter((construct): construct is sfn.StateMachine => construct instanceof sfn.StateMachine);
  return machines.flatMap((machine): KeepingWorkflow[] => {
    const definition = definitionOf(machine);
    const resource = machine.node.defaultChild as sfn.CfnStateMachine;
    const type = executionTypeOf(
      definition ?? {},
      marker,
      Stack.of(machine).resolve(resource.stateMachineType) ?? sfn.StateMachineType.STANDARD,
    );
    if (type === undefined) return [];
    if (type === sfn.StateMachineType.STANDARD) return [{ path: machine.node.path, keeps: 'history' }];
    const logging = Stack.of(machine).resolve(resource.loggingConfiguration) as
      | { readonly level?: string; readonly includeExecutionData?: boolean }
      | undefined;
    const level = logging?.level ?? sfn.LogLevel.OFF;
    return logging?.includeExecutionData === true && level !== sfn.LogLevel.OFF
      ? [{ path: machine.node.path, keeps: 'logs', level }]
      : [];
  });
}

/** Why a workflow would keep the Marketo token, and what to do instead. */
export const tokenKeptBy = (workflow: KeepingWorkflow): string =>
  (workflow.keeps === 'history'
    ? `state machine ${workflow.path} is STANDARD, whose execution history keeps every state's input and output for 90 days (states:GetExecutionHistory): the Marketo access token would be stored there. `
    : `state machine ${workflow.path} logs execution data (includeExecutionData: true) at level ${workflow.level}: the Marketo access token would be written to CloudWatch Logs. `) +
  'Use an EXPRESS workflow whose logs leave execution data out, or let a Lambda task fetch its own token (docs/consumers.md, "Step Functions"); to accept it, set allowTokenInExecutionHistory: true';
