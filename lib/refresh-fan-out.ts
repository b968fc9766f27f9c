import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  DEFAULT_REFRESH_BATCH_SIZE,
  DEFAULT_REFRESH_WORKER_CONCURRENCY,
  ENV,
  REFRESH_INDEX,
  REFRESH_TIMEOUT_SECONDS,
  REFRESH_WORKER_BATCH_SIZE,
} from '../functions/contract/index.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/** Deliveries of a message before it goes to the dead-letter queue (the handler reports failures per client). */
const REFRESH_MAX_RECEIVE_COUNT = 3;
/** SQS limits: 12 hours of visibility, 14 days of retention. */
const SQS_MAX_VISIBILITY_SECONDS = 43_200;
const SQS_MAX_RETENTION_SECONDS = 1_209_600;

/**
 * The refresher's queue: scheduled runs queue the due refreshes as messages delayed to their instants;
 * the same function consumes them, up to `refreshWorkerConcurrency` invocations at once.
 */
export function createRefreshFanOut(
  scope: Construct,
  refreshFunction: nodejs.NodejsFunction,
  props: MarketoTokenVendorProps,
): [queue: sqs.Queue, deadLetters: sqs.Queue] {
  const deadLetters = new sqs.Queue(scope, 'RefreshDeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.seconds(SQS_MAX_RETENTION_SECONDS),
  });
  Validations.of(deadLetters).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the refresh batches.',
  });
  const timeout = refreshFunction.timeout ?? Duration.seconds(REFRESH_TIMEOUT_SECONDS);
  // AWS's guidance for Lambda consumers: six times the function timeout
  // (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
  const visibilitySeconds = Math.min(SQS_MAX_VISIBILITY_SECONDS, timeout.toSeconds() * 6);
  const queue = new sqs.Queue(scope, 'RefreshBatches', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(visibilitySeconds),
    // A failed batch comes back after each visibility timeout: it must outlive every delivery the redrive
    // allows, plus one more timeout, or it expires before it can reach the dead-letter queue.
    retentionPeriod: Duration.seconds(
      Math.min(SQS_MAX_RETENTION_SECONDS, (REFRESH_MAX_RECEIVE_COUNT + 1) * visibilitySeconds),
    ),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: REFRESH_MAX_RECEIVE_COUNT },
  });
  refreshFunction.addEnvironment(ENV.refreshQueueUrl, queue.queueUrl);
  refreshFunction.addEnvironment(
    ENV.refreshBatchSize,
    String(props.refreshBatchSize ?? DEFAULT_REFRESH_BATCH_SIZE),
  );
  queue.grantSendMessages(refreshFunction);
  refreshFunction.addEventSource(
    new SqsEventSource(queue, {
      batchSize: REFRESH_WORKER_BATCH_SIZE,
      maxConcurrency: props.refreshWorkerConcurrency ?? DEFAULT_REFRESH_WORKER_CONCURRENCY,
      reportBatchItemFailures: true,
    }),
  );
  return [queue, deadLetters];
}

/** Lets the scheduled runs read the refresh index: `Query` on the index, nothing else of the table's. */
export function grantRefreshIndexQuery(refreshFunction: nodejs.NodejsFunction, table: dynamodb.ITable): void {
  refreshFunction.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'RefreshIndex',
      actions: ['dynamodb:Query'],
      resources: [`${table.tableArn}/index/${REFRESH_INDEX.name}`],
    }),
  );
}

/** Runs the refresher every `refreshPeriod`. */
export function createRefreshSchedule(
  scope: Construct,
  refreshFunction: nodejs.NodejsFunction,
  refreshPeriod: Duration,
): events.Rule {
  const rule = new events.Rule(scope, 'RefreshSchedule', {
    description: 'Runs the Marketo token refresher',
    schedule: events.Schedule.rate(refreshPeriod),
  });
  rule.addTarget(
    new targets.LambdaFunction(refreshFunction, {
      // A run older than one period is superseded by the next one.
      maxEventAge: Duration.seconds(Math.max(60, refreshPeriod.toSeconds())),
      retryAttempts: 2,
    }),
  );
  return rule;
}
