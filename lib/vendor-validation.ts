import { Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import {
  API_INTEGRATION_TIMEOUT_MS,
  DEFAULT_IDENTITY_TIMEOUT_MS,
  IDENTITY_TIMEOUT_MS_RANGE,
  LEASE_DURATION_MS_RANGE,
  MAX_API_WAIT_MS,
  MAX_MIN_VALIDITY_SECONDS,
  type Range,
  REFRESH_BATCH_SIZE_RANGE,
  REFRESH_CONCURRENCY_RANGE,
  REFRESH_FANOUT_THRESHOLD_RANGE,
  REFRESH_PERIOD_MINUTES_RANGE,
  REFRESH_WORKER_CONCURRENCY_RANGE,
  TOKEN_LIFESPAN_SECONDS,
  VEND_RESERVED_CONCURRENCY_RANGE,
  VEND_TIMEOUT_TAIL_MS,
} from '../functions/contract/index.js';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]+\/$/;
const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ACCOUNT_PATTERN = /^\d{12}$/;
const ORG_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** Throws with a lowercase message showing the received value unless `ok`. */
export function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const resolvedNumber = (value: number | undefined): value is number =>
  value !== undefined && !Token.isUnresolved(value);

const inRange = (value: number, { min, max }: Range): boolean =>
  Number.isInteger(value) && value >= min && value <= max;

/** Synth-time validation: lowercase messages showing the value received; unresolved tokens pass. */
export function validateProps(props: MarketoTokenVendorProps): void {
  const prefix = props.secretPrefix;
  if (prefix !== undefined && !Token.isUnresolved(prefix)) {
    check(
      SECRET_PREFIX_PATTERN.test(prefix) && prefix.length <= 256,
      `secretPrefix must be secret-name characters ending with "/", got "${prefix}"`,
    );
  }
  const schedule = props.refreshSchedule;
  if (schedule !== undefined && !Token.isUnresolved(schedule.toSeconds({ integral: false }))) {
    const seconds = schedule.toSeconds({ integral: false });
    check(
      seconds % 60 === 0 && inRange(seconds / 60, REFRESH_PERIOD_MINUTES_RANGE),
      `refreshSchedule must be whole minutes between ${REFRESH_PERIOD_MINUTES_RANGE.min} and ${REFRESH_PERIOD_MINUTES_RANGE.max} (a run queues the refreshes due within the period plus 60 s as messages delayed at most 15 minutes), got ${seconds} seconds`,
    );
  }
  if (resolvedNumber(props.defaultMinValiditySeconds)) {
    const value = props.defaultMinValiditySeconds;
    check(
      // Same bound as functions/config.ts: a token lives 3600 s, and the handler refuses more at start-up.
      inRange(value, { min: 0, max: MAX_MIN_VALIDITY_SECONDS }),
      `defaultMinValiditySeconds must be an integer from 0 to ${MAX_MIN_VALIDITY_SECONDS} (a token lives ${TOKEN_LIFESPAN_SECONDS} s), got ${value}`,
    );
  }
  const maxWaitMs = props.maxWait?.toMilliseconds();
  if (maxWaitMs !== undefined) {
    check(
      maxWaitMs >= 1_000 && maxWaitMs <= MAX_API_WAIT_MS,
      `maxWait must be from 1 s to ${MAX_API_WAIT_MS / 1000} s: the vend function's timeout is maxWait + ${VEND_TIMEOUT_TAIL_MS / 1000} s (the last Identity call) and API Gateway ends every integration at ${API_INTEGRATION_TIMEOUT_MS / 1000} s, so a longer wait would answer 504; got ${maxWaitMs} ms`,
    );
  }
  const reserved = props.vendReservedConcurrency;
  if (reserved !== undefined && reserved !== false && !Token.isUnresolved(reserved)) {
    check(
      inRange(reserved, VEND_RESERVED_CONCURRENCY_RANGE),
      `vendReservedConcurrency must be a whole number from ${VEND_RESERVED_CONCURRENCY_RANGE.min} to ${VEND_RESERVED_CONCURRENCY_RANGE.max}, or false for no bound, got ${reserved}`,
    );
  }
  const provisioned = props.vendProvisionedConcurrency;
  if (provisioned !== undefined && !Token.isUnresolved(provisioned)) {
    const ceiling =
      reserved === false || reserved === undefined || Token.isUnresolved(reserved)
        ? VEND_RESERVED_CONCURRENCY_RANGE.max
        : Math.min(reserved, VEND_RESERVED_CONCURRENCY_RANGE.max);
    check(
      inRange(provisioned, { min: 1, max: ceiling }),
      `vendProvisionedConcurrency must be a whole number from 1 to ${ceiling} (at most vendReservedConcurrency), got ${provisioned}`,
    );
  }
  const identityTimeoutMs = props.identityTimeout?.toMilliseconds() ?? DEFAULT_IDENTITY_TIMEOUT_MS;
  check(
    inRange(identityTimeoutMs, IDENTITY_TIMEOUT_MS_RANGE),
    `identityTimeout must be between ${IDENTITY_TIMEOUT_MS_RANGE.min} ms and ${IDENTITY_TIMEOUT_MS_RANGE.max / 1000} s, got ${identityTimeoutMs} ms`,
  );
  const leaseMs = props.leaseDuration?.toMilliseconds();
  if (leaseMs !== undefined) {
    check(
      leaseMs > identityTimeoutMs && leaseMs <= LEASE_DURATION_MS_RANGE.max,
      `leaseDuration must be longer than identityTimeout (${identityTimeoutMs} ms) and at most ${LEASE_DURATION_MS_RANGE.max / 1000} s, got ${leaseMs} ms`,
    );
  }
  for (const host of props.identityAllowedHosts ?? []) {
    if (Token.isUnresolved(host)) continue;
    check(
      HOST_PATTERN.test(host),
      `identityAllowedHosts entries must be lowercase host names such as "*.mktorest.com", got "${host}"`,
    );
  }
  check(
    props.identityAllowedHosts === undefined || props.identityAllowedHosts.length > 0,
    'identityAllowedHosts must not be empty, got []',
  );
  for (const [name, value, range] of [
    ['refreshConcurrency', props.refreshConcurrency, REFRESH_CONCURRENCY_RANGE],
    ['refreshFanOutThreshold', props.refreshFanOutThreshold, REFRESH_FANOUT_THRESHOLD_RANGE],
    ['refreshBatchSize', props.refreshBatchSize, REFRESH_BATCH_SIZE_RANGE],
    ['refreshWorkerConcurrency', props.refreshWorkerConcurrency, REFRESH_WORKER_CONCURRENCY_RANGE],
  ] as const) {
    if (resolvedNumber(value)) {
      check(
        inRange(value, range),
        `${name} must be an integer from ${range.min} to ${range.max}, got ${value}`,
      );
    }
  }
  const throttle = props.apiThrottle;
  if (throttle && resolvedNumber(throttle.rateLimit) && resolvedNumber(throttle.burstLimit)) {
    check(
      throttle.rateLimit > 0 && Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0,
      `apiThrottle must have a positive rateLimit and a positive integer burstLimit, got ${JSON.stringify(throttle)}`,
    );
  }
  for (const account of props.allowedAccounts ?? []) {
    if (Token.isUnresolved(account)) continue;
    check(
      ACCOUNT_PATTERN.test(account),
      `allowedAccounts entries must be 12-digit account ids, got "${account}"`,
    );
  }
  const org = props.organizationId;
  if (org !== undefined && !Token.isUnresolved(org)) {
    check(ORG_PATTERN.test(org), `organizationId must look like "o-abcd123456", got "${org}"`);
  }
  if (resolvedNumber(props.memorySize)) {
    const value = props.memorySize;
    check(
      Number.isInteger(value) && value >= 128 && value <= 10_240,
      `memorySize must be an integer from 128 to 10240 mb, got ${value}`,
    );
  }
  const endpointType = props.endpointType ?? apigateway.EndpointType.REGIONAL;
  const endpointCount = props.vpcEndpoints?.length ?? 0;
  check(
    endpointType === apigateway.EndpointType.REGIONAL || endpointType === apigateway.EndpointType.PRIVATE,
    `endpointType must be REGIONAL or PRIVATE, got ${endpointType}`,
  );
  if (endpointType === apigateway.EndpointType.PRIVATE) {
    check(
      endpointCount > 0,
      `endpointType PRIVATE requires at least one execute-api interface endpoint in vpcEndpoints, got ${endpointCount}`,
    );
  } else {
    check(
      endpointCount === 0,
      `vpcEndpoints only apply to endpointType PRIVATE, got ${endpointCount} with endpointType ${endpointType}`,
    );
  }
  const stageName = props.stageName;
  if (stageName !== undefined && !Token.isUnresolved(stageName)) {
    check(
      /^[A-Za-z0-9_]{1,128}$/.test(stageName),
      `stageName must be 1-128 characters of a-z, 0-9 or "_", got "${stageName}"`,
    );
  }
}
