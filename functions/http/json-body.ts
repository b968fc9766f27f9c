import type { APIGatewayProxyEvent } from 'aws-lambda';
import { InvalidRequestError } from '../core/errors.js';

/**
 * The JSON object in an API Gateway event's body, or `undefined` when there is no body (each route decides
 * whether that is fine). Size is checked on the decoded text, before parsing, so an oversized body costs no
 * parse; anything but a JSON object is an `InvalidRequestError`.
 */
export function parseJsonObjectBody(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  maxBytes: number,
): Record<string, unknown> | undefined {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > maxBytes) {
    throw new InvalidRequestError(`request body must be at most ${maxBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidRequestError('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
