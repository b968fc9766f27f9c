import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/**
 * The refresher's fan-out: the scheduled run queues batches past the threshold; the same function
 * consumes them, one batch per invocation, up to `refreshWorkerConcurrency` at once.
 */
export function createRefreshFanOut(
  scope: Construct,
  refreshFunction: nodejs.NodejsFunction,
  props: MarketoTokenVendorProps,
  refreshPeriod: Duration,
): [queue: sqs.Queue, deadLetters: sqs.Queue] {
  const deadLetters = new sqs.Queue(scope, 'RefreshDeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(deadLetters).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the refresh batches.',
  });
  const timeout = refreshFunction.timeout ?? refreshPeriod.plus(Duration.seconds(60));
  const queue = new sqs.Queue(scope, 'RefreshBatches', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // AWS's guidance for Lambda consumers: six times the function timeout.
    visibilityTimeout: Duration.seconds(Math.min(43_200, timeout.toSeconds() * 6)),
    // A batch older than a few periods is superseded by newer runs.
    retentionPeriod: Duration.seconds(Math.max(300, refreshPeriod.toSeconds() * 3)),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: 3 },
  });
  refreshFunction.addEnvironment('REFRESH_QUEUE_URL', queue.queueUrl);
  refreshFunction.addEnvironment('REFRESH_FANOUT_THRESHOLD', String(props.refreshFanOutThreshold ?? 500));
  refreshFunction.addEnvironment('REFRESH_BATCH_SIZE', String(props.refreshBatchSize ?? 100));
  queue.grantSendMessages(refreshFunction);
  refreshFunction.addEventSource(
    new SqsEventSource(queue, {
      batchSize: 1,
      maxConcurrency: props.refreshWorkerConcurrency ?? 10,
      reportBatchItemFailures: true,
    }),
  );
  return [queue, deadLetters];
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
