import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
// In this repository `#construct` (package.json "imports") is what a user writes as 'marketo-token-vendor/construct'.
import { MarketoTokenVendor, type MarketoTokenVendorProps, tokenTask } from '#construct';

/** Properties of the example. */
export interface TokenWorkflowStackProps extends StackProps {
  /** The Marketo client (Custom Service) the workflow syncs with. @default 'example-client' */
  readonly clientId?: string;
  /** Vendor settings. @default - the construct's defaults */
  readonly vendorProps?: MarketoTokenVendorProps;
}

/**
 * Example: an Express workflow that gets a Marketo token from the vendor and prepares the
 * `Authorization` header for the steps that call Marketo.
 *
 * Express, logging level ERROR and `includeExecutionData: false` keep the token out of any
 * history or log: Express workflows have no execution history, and only errors are logged,
 * without state data. A standard workflow would record the token in its execution history.
 */
export class TokenWorkflowStack extends Stack {
  /** The vendor the workflow asks. */
  public readonly vendor: MarketoTokenVendor;
  /** The example workflow. */
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: TokenWorkflowStackProps = {}) {
    super(scope, id, props);
    const clientId = props.clientId ?? 'example-client';
    this.vendor = new MarketoTokenVendor(this, 'Vendor', props.vendorProps);

    const getToken = tokenTask(this, 'GetMarketoToken', {
      vendor: this.vendor,
      clientId,
      // Long enough for the sync steps that follow. Near an expiry the task's default retries wait up to
      // minValidity + 30 s for the successor: that must fit the workflow's timeout (an Express workflow
      // runs at most 5 minutes).
      minValidity: 120,
      resultPath: '$.marketo',
    });
    // A real workflow would call Marketo here (HTTP task or a Lambda); the header is all it needs.
    const prepare = new sfn.Pass(this, 'PrepareMarketoCall', {
      parameters: {
        'authorization.$': "States.Format('Bearer {}', $.marketo.accessToken)",
        'expiresAt.$': '$.marketo.expiresAt',
      },
      resultPath: '$.marketoRequest',
    });

    const logGroup = new logs.LogGroup(this, 'WorkflowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'SyncWorkflow', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(getToken.next(prepare)),
      timeout: Duration.minutes(5),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        'Logging ALL events would write the Marketo access token into CloudWatch Logs; ERROR without execution data is deliberate.',
    });
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray and CloudWatch Logs delivery actions used by Step Functions tracing and logging do not support resource-level permissions.',
      });
    }
  }
}
