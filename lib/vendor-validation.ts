import { Duration, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { MarketoTokenVendorProps } from './marketo-token-vendor-props.js';

/** Same alphabet as `functions/core/credentials.ts` so ARNs can never be built for ids the API rejects. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]+\/$/;
const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ACCOUNT_PATTERN = /^\d{12}$/;
const ORG_PATTERN = /^o-[a-z0-9]{10,32}$/;
/** API Gateway gives up on an integration after 29 s. */
const API_INTEGRATION_TIMEOUT_MS = 29_000;

/** Throws with a lowercase message showing the received value unless `ok`. */
export function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const resolvedNumber = (value: number | undefined): value is number =>
  value !== undefined && !Token.isUnresolved(value);

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
      seconds % 60 === 0 && seconds >= 60 && seconds <= 14 * 60,
      `refreshSchedule must be whole minutes between 1 and 14 (the refresh timeout is the period plus 60 s, at most 15 minutes), got ${seconds} seconds`,
    );
  }
  if (resolvedNumber(props.defaultMinValiditySeconds)) {
    const value = props.defaultMinValiditySeconds;
    check(
      // Same bound as functions/config.ts: a token lives 3600 s, and the handler refuses more at start-up.
      Number.isInteger(value) && value >= 0 && value <= 3500,
      `defaultMinValiditySeconds must be an integer from 0 to 3500 (a token lives 3600 s), got ${value}`,
    );
  }
  const maxWaitMs = props.maxWait?.toMilliseconds();
  if (maxWaitMs !== undefined) {
    check(
      maxWaitMs >= 1_000 && maxWaitMs < API_INTEGRATION_TIMEOUT_MS,
      `maxWait must be at least 1 s and below API Gateway's 29 s integration timeout, got ${maxWaitMs} ms`,
    );
  }
  const identityTimeoutMs = (props.identityTimeout ?? Duration.seconds(5)).toMilliseconds();
  check(
    identityTimeoutMs >= 500 && identityTimeoutMs <= 20_000,
    `identityTimeout must be between 500 ms and 20 s, got ${identityTimeoutMs} ms`,
  );
  const leaseMs = props.leaseDuration?.toMilliseconds();
  if (leaseMs !== undefined) {
    check(
      leaseMs > identityTimeoutMs && leaseMs <= 60_000,
      `leaseDuration must be longer than identityTimeout (${identityTimeoutMs} ms) and at most 60 s, got ${leaseMs} ms`,
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
  if (resolvedNumber(props.refreshConcurrency)) {
    const value = props.refreshConcurrency;
    check(
      Number.isInteger(value) && value >= 1 && value <= 64,
      `refreshConcurrency must be an integer from 1 to 64, got ${value}`,
    );
  }
  for (const [name, value, min, max] of [
    ['refreshFanOutThreshold', props.refreshFanOutThreshold, 0, 100_000],
    ['refreshBatchSize', props.refreshBatchSize, 1, 1_000],
    ['refreshWorkerConcurrency', props.refreshWorkerConcurrency, 2, 1_000],
  ] as const) {
    if (resolvedNumber(value)) {
      check(
        Number.isInteger(value) && value >= min && value <= max,
        `${name} must be an integer from ${min} to ${max}, got ${value}`,
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
