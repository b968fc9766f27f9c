/**
 * The local policy file: IAM emulation for local mode. It maps local access keys to a principal ARN and
 * to the client ids (and pool instances) that principal may get tokens for, with the same per-client
 * scoping `grantVend` gives in AWS (`arn:aws:execute-api:…/GET/tokens/<clientId>`).
 *
 * ```json
 * {
 *   "generatedKeyId": "LOCAL7Q2M4X9K3H8D5T6W",
 *   "keys": [
 *     {
 *       "accessKeyId": "LOCAL7Q2M4X9K3H8D5T6W",
 *       "secretAccessKey": "<random, made on first start>",
 *       "principalArn": "arn:aws:iam::000000000000:user/local-mode",
 *       "clients": ["*"],
 *       "instances": ["*"]
 *     }
 *   ]
 * }
 * ```
 *
 * There is no well-known key: the first start on a data directory generates one at random.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { errnoCode } from '../functions/adapters/errno.js';
import { withFileLock, writePrivateJsonFile } from '../functions/adapters/private-json-file.js';
import { isValidClientId, isValidInstance } from '../functions/contract/index.js';
import { readTrustedFile, UntrustedPathError } from './file-trust.js';
import { matchesPattern } from './pattern-match.js';

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
  /**
   * The access key local mode generated for this data directory. `npm start` prints that key (and no
   * other: a user's team key stays unprinted), and only while it is still listed in `keys`.
   */
  readonly generatedKeyId?: string;
}

/** What a request asks for, in policy terms. */
export type PolicyResource =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'instance'; readonly instance: string };

/** The policy file is missing pieces or is not JSON; the message names the file and the entry. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
}

/** The principal of the key local mode generates (shown in the access log). */
export const GENERATED_KEY_PRINCIPAL = 'arn:aws:iam::000000000000:user/local-mode';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A fresh local-only key allowed every client and pool: 80 random bits of id, 240 of secret. It opens
 * only the local API on 127.0.0.1; it is not, and cannot be, an AWS credential.
 */
export function generatePolicyKey(): PolicyKey {
  const id = [...randomBytes(16)].map((byte) => BASE32[byte % 32]).join('');
  return {
    accessKeyId: `LOCAL${id}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    principalArn: GENERATED_KEY_PRINCIPAL,
    clients: ['*'],
    instances: ['*'],
  };
}

/** The key local mode generated, while the document still lists it; never any other key. */
export function generatedKeyOf(document: PolicyDocument): PolicyKey | undefined {
  if (document.generatedKeyId === undefined) return undefined;
  return document.keys.find((key) => key.accessKeyId === document.generatedKeyId);
}

/** The account id local ARNs use (AWS's documentation placeholder style: clearly not a real account). */
export const LOCAL_ACCOUNT_ID = '000000000000';

const ACCESS_KEY_PATTERN = /^[A-Za-z0-9_-]{4,128}$/;
const PATTERN_ALPHABET = /^[A-Za-z0-9._*-]{1,128}$/;

/** Whether `key` may use `resource` (vend and invalidate alike, like one `execute-api:Invoke` grant). */
export function isAllowed(key: PolicyKey, resource: PolicyResource): boolean {
  // An id outside the id alphabet or longer than 128 characters is no client or pool: no pattern runs on it.
  if (resource.kind === 'client') {
    return (
      isValidClientId(resource.clientId) && key.clients.some((p) => matchesPattern(resource.clientId, p))
    );
  }
  return (
    isValidInstance(resource.instance) &&
    (key.instances ?? []).some((p) => matchesPattern(resource.instance, p))
  );
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
  const generatedKeyId = (document as { generatedKeyId?: unknown }).generatedKeyId;
  return typeof generatedKeyId === 'string' ? { generatedKeyId, keys: parsed } : { keys: parsed };
}

/**
 * The key local mode generated in the policy file at `path` (what `npm start` prints): how tests, benches
 * and scripts get a working key without a well-known one. Throws when the file no longer lists it.
 */
export async function readGeneratedKey(path: string): Promise<PolicyKey> {
  const key = generatedKeyOf(await readPolicyFile(path));
  if (!key) throw new PolicyFileError(`policy file ${path} no longer lists the key local mode generated`);
  return key;
}

/** Reads and validates the policy file (throws `PolicyFileError` when it is invalid). */
export async function readPolicyFile(path: string): Promise<PolicyDocument> {
  return parsePolicyDocument(await readPolicyText(path), path);
}

/** The policy file's text, once it is checked to be this user's and writable by nobody else. */
async function readPolicyText(path: string): Promise<string> {
  let read: Awaited<ReturnType<typeof readTrustedFile>>;
  try {
    read = await readTrustedFile(path, 'policy file');
  } catch (error) {
    // Another user's policy (or one others can write) grants nothing: it fails closed like a corrupt one.
    if (error instanceof UntrustedPathError) throw new PolicyFileError(error.message);
    throw error;
  }
  if (read === undefined) throw new PolicyFileError(`policy file ${path} does not exist`);
  return read.text;
}

/** Writes a policy file atomically with mode 0600 (it holds secrets, even if only local ones). */
export async function writePolicyFile(path: string, document: PolicyDocument): Promise<void> {
  await writePrivateJsonFile(path, document);
}

/**
 * Creates the policy file with a freshly generated key when it does not exist yet (first start on a
 * data directory). Returns whether it did.
 */
export async function ensurePolicyFile(path: string): Promise<boolean> {
  // Under the file's lock: two processes creating it at once would each print a key, and only one would work.
  return withFileLock(path, async () => {
    try {
      await stat(path);
      return false;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    const key = generatePolicyKey();
    await writePolicyFile(path, { generatedKeyId: key.accessKeyId, keys: [key] });
    return true;
  });
}

/** What changes when the file is edited, replaced (inode) or has its owner or mode changed (ctime). */
const stampOf = (info: Stats): string => `${info.mtimeMs}:${info.ctimeMs}:${info.size}:${info.ino}`;

/**
 * The policy file as the server reads it: re-read whenever it changes (edits need no restart). It fails
 * closed: a file that goes missing or turns invalid revokes every key (nothing is kept from the last good
 * version) until it is valid again, and the problem is reported once per change.
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
    const document = parsePolicyDocument(await readPolicyText(this.#path), this.#path);
    this.#keys = new Map(document.keys.map((key) => [key.accessKeyId, key]));
    this.#stamp = stampOf(info);
    return document;
  }

  /** The entry of `accessKeyId`, or `undefined` for a key the policy does not know. */
  async lookup(accessKeyId: string): Promise<PolicyKey | undefined> {
    const info = await stat(this.#path).catch(() => undefined);
    const stamp = info ? stampOf(info) : 'missing';
    if (stamp !== this.#stamp) {
      try {
        await this.load();
      } catch (error) {
        this.#stamp = stamp;
        this.#keys = new Map();
        this.#onError?.(
          error instanceof PolicyFileError
            ? error
            : new PolicyFileError(
                `policy file ${this.#path} could not be read (${(error as { code?: string }).code ?? 'error'})`,
              ),
        );
      }
    }
    return this.#keys.get(accessKeyId);
  }
}
