/**
 * The local policy file: IAM emulation for local mode. It maps local access keys to a principal ARN and
 * to the client ids (and pool instances) that principal may get tokens for, with the same per-client
 * scoping `grantVend` gives in AWS (`arn:aws:execute-api:…/GET/tokens/<clientId>`).
 *
 * ```json
 * {
 *   "keys": [
 *     {
 *       "accessKeyId": "LOCALDEMOKEY",
 *       "secretAccessKey": "local-demo-secret",
 *       "principalArn": "arn:aws:iam::000000000000:user/local-demo",
 *       "clients": ["*"],
 *       "instances": ["*"]
 *     }
 *   ]
 * }
 * ```
 */
import { readFile, stat } from 'node:fs/promises';
import { writePrivateJsonFile } from '../functions/adapters/private-json-file.js';

/** One local access key and what it may do. */
export interface PolicyKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Shown in audit logs and in "not authorized" messages, as API Gateway shows the caller's ARN. */
  readonly principalArn: string;
  /** Client id patterns: exact ids, `*`, or globs like `team-a-*`. */
  readonly clients: readonly string[];
  /** Instance patterns for `GET /instances/{instance}/token`. @default [] (no pools) */
  readonly instances?: readonly string[];
}

/** The policy file document. */
export interface PolicyDocument {
  readonly keys: readonly PolicyKey[];
}

/** What a request asks for, in policy terms. */
export type PolicyResource =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'instance'; readonly instance: string };

/** The policy file is missing pieces or is not JSON; the message names the file and the entry. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
}

/**
 * Local-only demo credentials, written into a new policy file and printed by `npm start`. They only
 * open the local API on 127.0.0.1; they are not, and cannot be, AWS credentials.
 */
export const DEMO_POLICY_KEY: PolicyKey = Object.freeze({
  accessKeyId: 'LOCALDEMOKEY',
  secretAccessKey: 'local-demo-secret',
  principalArn: 'arn:aws:iam::000000000000:user/local-demo',
  clients: Object.freeze(['*']),
  instances: Object.freeze(['*']),
});

/** The account id local ARNs use (AWS's documentation placeholder style: clearly not a real account). */
export const LOCAL_ACCOUNT_ID = '000000000000';

const ACCESS_KEY_PATTERN = /^[A-Za-z0-9_-]{4,128}$/;
const PATTERN_ALPHABET = /^[A-Za-z0-9._*-]{1,128}$/;

/** True when `value` matches a policy pattern: `*` matches any run of characters, as in IAM ARNs. */
export function matchesPattern(value: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return value === pattern;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
  return regex.test(value);
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `key` may use `resource` (vend and invalidate alike, like one `execute-api:Invoke` grant). */
export function isAllowed(key: PolicyKey, resource: PolicyResource): boolean {
  if (resource.kind === 'client') return key.clients.some((p) => matchesPattern(resource.clientId, p));
  return (key.instances ?? []).some((p) => matchesPattern(resource.instance, p));
}

/** The execute-api resource ARN of a request, as API Gateway names it in "not authorized" messages. */
export function executeApiArn(region: string, method: string, path: string): string {
  return `arn:aws:execute-api:${region}:${LOCAL_ACCOUNT_ID}:local/local/${method}${path}`;
}

const stringList = (value: unknown, where: string, field: string): readonly string[] => {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && PATTERN_ALPHABET.test(p))) {
    throw new PolicyFileError(
      `${where}: "${field}" must be an array of patterns (letters, digits, ".", "_", "-", "*")`,
    );
  }
  return value as string[];
};

/** Validates a policy document; errors name the entry and field, never a secret. */
export function parsePolicyDocument(raw: string, file: string): PolicyDocument {
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch {
    throw new PolicyFileError(`policy file ${file}: not valid JSON`);
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys))
    throw new PolicyFileError(`policy file ${file}: must be an object with a "keys" array`);
  const seen = new Set<string>();
  const parsed = keys.map((entry: unknown, index): PolicyKey => {
    const where = `policy file ${file}: keys[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw new PolicyFileError(`${where}: must be an object`);
    const record = entry as Record<string, unknown>;
    const { accessKeyId, secretAccessKey, principalArn } = record;
    if (typeof accessKeyId !== 'string' || !ACCESS_KEY_PATTERN.test(accessKeyId)) {
      throw new PolicyFileError(`${where}: "accessKeyId" must be 4-128 letters, digits, "_" or "-"`);
    }
    if (seen.has(accessKeyId))
      throw new PolicyFileError(`${where}: access key "${accessKeyId}" is listed twice`);
    seen.add(accessKeyId);
    if (typeof secretAccessKey !== 'string' || secretAccessKey.length < 8) {
      throw new PolicyFileError(`${where}: "secretAccessKey" must be a string of at least 8 characters`);
    }
    if (typeof principalArn !== 'string' || !principalArn.startsWith('arn:')) {
      throw new PolicyFileError(`${where}: "principalArn" must be an ARN`);
    }
    return {
      accessKeyId,
      secretAccessKey,
      principalArn,
      clients: stringList(record.clients ?? [], where, 'clients'),
      instances: stringList(record.instances ?? [], where, 'instances'),
    };
  });
  return { keys: parsed };
}

/** Writes a policy file atomically with mode 0600 (it holds secrets, even if only local ones). */
export async function writePolicyFile(path: string, document: PolicyDocument): Promise<void> {
  await writePrivateJsonFile(path, document);
}

/** Creates the policy file with the demo key when it does not exist yet. Returns whether it did. */
export async function ensurePolicyFile(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  await writePolicyFile(path, { keys: [DEMO_POLICY_KEY] });
  return true;
}

/**
 * The policy file as the server reads it: re-read whenever it changes (edits need no restart). A file
 * that turns bad keeps the last good version in force and reports the problem once per change.
 */
export class LocalPolicy {
  readonly #path: string;
  readonly #onError?: (error: PolicyFileError) => void;
  #stamp?: string;
  #keys = new Map<string, PolicyKey>();

  constructor(path: string, options: { readonly onError?: (error: PolicyFileError) => void } = {}) {
    this.#path = path;
    this.#onError = options.onError;
  }

  /** Loads the file now; throws `PolicyFileError` when it is missing or invalid (used at start-up). */
  async load(): Promise<PolicyDocument> {
    const info = await stat(this.#path).catch(() => undefined);
    if (!info) throw new PolicyFileError(`policy file ${this.#path} does not exist`);
    const document = parsePolicyDocument(await readFile(this.#path, 'utf8'), this.#path);
    this.#keys = new Map(document.keys.map((key) => [key.accessKeyId, key]));
    this.#stamp = `${info.mtimeMs}:${info.size}:${info.ino}`;
    return document;
  }

  /** The entry of `accessKeyId`, or `undefined` for a key the policy does not know. */
  async lookup(accessKeyId: string): Promise<PolicyKey | undefined> {
    const info = await stat(this.#path).catch(() => undefined);
    const stamp = info ? `${info.mtimeMs}:${info.size}:${info.ino}` : 'missing';
    if (stamp !== this.#stamp) {
      try {
        await this.load();
      } catch (error) {
        this.#stamp = stamp;
        if (error instanceof PolicyFileError) this.#onError?.(error);
        else throw error;
      }
    }
    return this.#keys.get(accessKeyId);
  }
}
