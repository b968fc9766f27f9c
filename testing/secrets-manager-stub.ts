import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { ClientCredentials } from '../functions/core/ports.js';
import { registerSensitive } from './leak-scan.js';

// The SDK warns once per process that Node 20 support ends; it is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Operations the stub speaks (the `secretsmanager.<Op>` part of `X-Amz-Target`). */
export type SecretsManagerOp =
  | 'GetSecretValue'
  | 'ListSecrets'
  | 'CreateSecret'
  | 'PutSecretValue'
  | 'DescribeSecret'
  | 'TagResource'
  | 'DeleteSecret'
  | 'RestoreSecret';

const OPS: readonly SecretsManagerOp[] = [
  'GetSecretValue',
  'ListSecrets',
  'CreateSecret',
  'PutSecretValue',
  'DescribeSecret',
  'TagResource',
  'DeleteSecret',
  'RestoreSecret',
];

interface Tag {
  Key: string;
  Value: string;
}

interface StoredSecret {
  name: string;
  arn: string;
  secretString?: string;
  secretBinary?: string;
  versionId: string;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  deletedDate?: number;
}

/** Options for {@link startSecretsManagerStub}. */
export interface SecretsManagerStubOptions {
  /** @default 'marketo-token-vendor/clients/' */
  readonly prefix?: string;
  /** ListSecrets page size when the caller gives no MaxResults (small, so tests exercise paging). @default 20 */
  readonly defaultPageSize?: number;
  /** Overrides for the returned client (e.g. `maxAttempts`). */
  readonly clientConfig?: SecretsManagerClientConfig;
}

/** A running Secrets Manager stand-in on loopback. */
export interface SecretsManagerStub {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A real SecretsManagerClient pointed at the stub (dummy credentials, us-east-1). */
  readonly client: SecretsManagerClient;
  /** Another client pointed at the stub, e.g. with `maxAttempts: 1`. The caller destroys it. */
  createClient(config?: SecretsManagerClientConfig): SecretsManagerClient;
  /**
   * Registers (or replaces) a client's secret `<prefix><clientId>` directly, without counting a call.
   * `instance` (option, else the record's) becomes the `marketo-token-vendor:instance` tag.
   */
  putClientSecret(record: ClientCredentials, options?: { readonly instance?: string }): void;
  /** Stores a raw secret directly (not JSON, binary-only, ...), without counting a call. */
  putRawSecret(name: string, value: { secretString?: string; secretBinary?: string; tags?: Tag[] }): void;
  /** Answers the next `times` calls of `op` with the error `errorType` (e.g. `ThrottlingException`). */
  failNext(op: SecretsManagerOp, errorType: string, times?: number): void;
  /** While down, every request's socket is destroyed without an answer (the client sees a reset). */
  setDown(down: boolean): void;
  /**
   * Makes ListSecrets return secrets scheduled for deletion even without `IncludePlannedDeletion`
   * (lets tests prove the caller filters on `DeletedDate` itself).
   */
  setListIncludesDeleted(include: boolean): void;
  /**
   * A client-shaped object answering `send(command)` in process, without HTTP, through the same handlers,
   * faults and counts (benchmarks with 100,000 clients). Errors are thrown with the service's error name.
   */
  inProcessClient(): SecretsManagerClient;
  /** Calls received per operation (faulted ones included). */
  calls(op: SecretsManagerOp): number;
  resetCalls(): void;
  stop(): Promise<void>;
}

class StubError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const seconds = (ms: number): number => ms / 1000;

/** The SDK's deserialiser turns the wire's epoch seconds in `…Date` fields into Dates; the in-process client does too. */
function asSdkOutput(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asSdkOutput);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      key.endsWith('Date') && typeof field === 'number' ? new Date(field * 1000) : asSdkOutput(field),
    ]),
  );
}

/** Starts a plain node:http server speaking the Secrets Manager JSON protocol on 127.0.0.1:<ephemeral>. */
export async function startSecretsManagerStub(
  options: SecretsManagerStubOptions = {},
): Promise<SecretsManagerStub> {
  const prefix = options.prefix ?? 'marketo-token-vendor/clients/';
  const defaultPageSize = options.defaultPageSize ?? 20;
  const secrets = new Map<string, StoredSecret>();
  const callCounts = new Map<SecretsManagerOp, number>();
  const faults = new Map<SecretsManagerOp, { type: string; remaining: number }>();
  const sockets = new Set<Socket>();
  let down = false;
  let listIncludesDeleted = false;
  /** Filtered secret lists by id, read by the pages after the first (see ListSecrets). */
  const listings = new Map<string, { readonly id: string; readonly secrets: StoredSecret[] }>();
  let listingCounter = 0;

  const arnFor = (name: string) =>
    `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`;

  const upsert = (name: string, value: { secretString?: string; secretBinary?: string; tags?: Tag[] }) => {
    const now = Date.now();
    const existing = secrets.get(name);
    secrets.set(name, {
      name,
      arn: existing?.arn ?? arnFor(name),
      ...(value.secretString === undefined ? {} : { secretString: value.secretString }),
      ...(value.secretBinary === undefined ? {} : { secretBinary: value.secretBinary }),
      versionId: randomUUID(),
      tags: value.tags ?? existing?.tags ?? [],
      createdDate: existing?.createdDate ?? now,
      lastChangedDate: now,
    });
  };

  const find = (secretId: unknown): StoredSecret => {
    if (typeof secretId !== 'string' || secretId.length === 0) {
      throw new StubError('InvalidParameterException', 'SecretId is required');
    }
    const secret = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);
    if (!secret)
      throw new StubError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };

  const notDeleted = (secret: StoredSecret) => {
    if (secret.deletedDate !== undefined) {
      throw new StubError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
  };

  const describe = (s: StoredSecret) => ({
    ARN: s.arn,
    Name: s.name,
    Tags: s.tags,
    CreatedDate: seconds(s.createdDate),
    LastChangedDate: seconds(s.lastChangedDate),
    ...(s.deletedDate === undefined ? {} : { DeletedDate: seconds(s.deletedDate) }),
  });

  const mergeTags = (secret: StoredSecret, tags: unknown) => {
    for (const tag of Array.isArray(tags) ? (tags as Tag[]) : []) {
      secret.tags = [...secret.tags.filter((t) => t.Key !== tag.Key), { Key: tag.Key, Value: tag.Value }];
    }
  };

  const handlers: Record<SecretsManagerOp, (body: Record<string, unknown>) => unknown> = {
    GetSecretValue(body) {
      const secret = find(body.SecretId);
      notDeleted(secret);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: seconds(secret.lastChangedDate),
        ...(secret.secretString === undefined ? {} : { SecretString: secret.secretString }),
        ...(secret.secretBinary === undefined ? {} : { SecretBinary: secret.secretBinary }),
      };
    },
    ListSecrets(body) {
      const filters = Array.isArray(body.Filters)
        ? (body.Filters as { Key: string; Values: string[] }[])
        : [];
      const includeDeleted = body.IncludePlannedDeletion === true || listIncludesDeleted;
      const matches = (s: StoredSecret) =>
        filters.every((f) => {
          const values = f.Values ?? [];
          // Like the service: case-sensitive prefix matches; a leading "!" negates a value.
          const prefixOf = (candidate: string) =>
            values.some((v) =>
              v.startsWith('!') ? !candidate.startsWith(v.slice(1)) : candidate.startsWith(v),
            );
          if (f.Key === 'name') return prefixOf(s.name);
          if (f.Key === 'tag-key') return s.tags.some((t) => prefixOf(t.Key));
          if (f.Key === 'tag-value') return s.tags.some((t) => prefixOf(t.Value));
          throw new StubError('InvalidParameterException', `stub does not support filter key ${f.Key}`);
        });
      const pageSize = typeof body.MaxResults === 'number' ? body.MaxResults : defaultPageSize;
      if (pageSize < 1 || pageSize > 100)
        throw new StubError('InvalidParameterException', 'MaxResults out of range');
      // NextToken is `<listing>:<offset>`: later pages read the listing the first page filtered, so
      // listing 100,000 secrets costs one filter, not one per page.
      const [listingId, offset] =
        typeof body.NextToken === 'string'
          ? Buffer.from(body.NextToken, 'base64url').toString().split(':')
          : [undefined, '0'];
      const start = Number(offset);
      if (!Number.isInteger(start) || start < 0)
        throw new StubError('InvalidNextTokenException', 'bad NextToken');
      let listing = listingId === undefined ? undefined : listings.get(listingId);
      if (!listing) {
        listingCounter += 1;
        listing = {
          id: String(listingCounter),
          secrets: [...secrets.values()].filter(
            (s) => (includeDeleted || s.deletedDate === undefined) && matches(s),
          ),
        };
        listings.set(listing.id, listing);
        // Keep the few most recent listings (concurrent pagers), not every one ever made.
        for (const id of listings.keys()) if (listings.size > 8) listings.delete(id);
      }
      const all = listing.secrets;
      const page = all.slice(start, start + pageSize);
      const next = start + pageSize;
      return {
        SecretList: page.map(describe),
        ...(next < all.length
          ? { NextToken: Buffer.from(`${listing.id}:${next}`).toString('base64url') }
          : {}),
      };
    },
    CreateSecret(body) {
      const name = body.Name;
      if (typeof name !== 'string' || name.length === 0)
        throw new StubError('InvalidParameterException', 'Name');
      const existing = secrets.get(name);
      if (existing?.deletedDate !== undefined) {
        throw new StubError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      if (existing)
        throw new StubError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      upsert(name, {
        ...(typeof body.SecretString === 'string' ? { secretString: body.SecretString } : {}),
        ...(typeof body.SecretBinary === 'string' ? { secretBinary: body.SecretBinary } : {}),
        tags: Array.isArray(body.Tags) ? (body.Tags as Tag[]) : [],
      });
      const created = find(name);
      return { ARN: created.arn, Name: created.name, VersionId: created.versionId };
    },
    PutSecretValue(body) {
      const secret = find(body.SecretId);
      notDeleted(secret);
      upsert(secret.name, {
        ...(typeof body.SecretString === 'string' ? { secretString: body.SecretString } : {}),
        ...(typeof body.SecretBinary === 'string' ? { secretBinary: body.SecretBinary } : {}),
      });
      const updated = find(secret.name);
      return {
        ARN: updated.arn,
        Name: updated.name,
        VersionId: updated.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    DescribeSecret(body) {
      return describe(find(body.SecretId));
    },
    TagResource(body) {
      const secret = find(body.SecretId);
      mergeTags(secret, body.Tags);
      return {};
    },
    DeleteSecret(body) {
      const secret = find(body.SecretId);
      if (body.ForceDeleteWithoutRecovery === true) {
        if (body.RecoveryWindowInDays !== undefined) {
          throw new StubError(
            'InvalidParameterException',
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
          );
        }
        secrets.delete(secret.name);
        return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(Date.now()) };
      }
      const days = typeof body.RecoveryWindowInDays === 'number' ? body.RecoveryWindowInDays : 30;
      if (days < 7 || days > 30)
        throw new StubError('InvalidParameterException', 'RecoveryWindowInDays must be 7-30');
      notDeleted(secret);
      secret.deletedDate = Date.now();
      return {
        ARN: secret.arn,
        Name: secret.name,
        DeletionDate: seconds(secret.deletedDate + days * 86_400_000),
      };
    },
    RestoreSecret(body) {
      const secret = find(body.SecretId);
      delete secret.deletedDate;
      return { ARN: secret.arn, Name: secret.name };
    },
  };

  const send = (res: ServerResponse, status: number, payload: unknown) => {
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('secretsmanager.')
      ? (target.slice('secretsmanager.'.length) as SecretsManagerOp)
      : undefined;
    if (req.method !== 'POST' || op === undefined || !OPS.includes(op)) {
      send(res, 400, { __type: 'UnknownOperationException', message: `unsupported target ${target}` });
      return;
    }
    callCounts.set(op, (callCounts.get(op) ?? 0) + 1);
    if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      send(res, 400, {
        __type: 'MissingAuthenticationTokenException',
        message: 'Missing Authentication Token',
      });
      return;
    }
    const fault = faults.get(op);
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      const status = fault.type === 'InternalServiceError' ? 500 : 400;
      send(res, status, { __type: fault.type, message: `injected ${fault.type}` });
      return;
    }
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = (text.length === 0 ? {} : JSON.parse(text)) as Record<string, unknown>;
      send(res, 200, handlers[op](body));
    } catch (error) {
      if (error instanceof StubError) send(res, error.status, { __type: error.type, message: error.message });
      else send(res, 400, { __type: 'SerializationException', message: 'bad request body' });
    }
  };

  const invoke = async (op: SecretsManagerOp, body: Record<string, unknown>): Promise<unknown> => {
    callCounts.set(op, (callCounts.get(op) ?? 0) + 1);
    const fault = faults.get(op);
    let failure: StubError | undefined;
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      failure = new StubError(fault.type, `injected ${fault.type}`);
    }
    try {
      if (failure) throw failure;
      return handlers[op](body);
    } catch (error) {
      if (!(error instanceof StubError)) throw error;
      const thrown = new Error(error.message);
      thrown.name = error.type;
      throw thrown;
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const createClient = (config: SecretsManagerClientConfig = {}) =>
    new SecretsManagerClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      ...options.clientConfig,
      ...config,
    });
  const client = createClient();

  return {
    endpoint,
    client,
    createClient,
    putClientSecret(record, opts = {}) {
      const instance = opts.instance ?? record.instance;
      // Lets the suite-wide leak scan fail the run if this secret ever reaches a log line.
      registerSensitive(record.clientSecret);
      upsert(`${prefix}${record.clientId}`, {
        secretString: JSON.stringify(record),
        tags: instance === undefined ? [] : [{ Key: 'marketo-token-vendor:instance', Value: instance }],
      });
    },
    putRawSecret(name, value) {
      upsert(name, value);
    },
    failNext(op, errorType, times = 1) {
      faults.set(op, { type: errorType, remaining: times });
    },
    setDown(value) {
      // Only requests arriving while down lose their socket: killing idle keep-alive sockets too would
      // leave the client's pool holding dead sockets after recovery, a flake rather than a fault.
      down = value;
    },
    setListIncludesDeleted(include) {
      listIncludesDeleted = include;
    },
    inProcessClient: () =>
      ({
        send: (command: { constructor: { name: string }; input: object }) =>
          invoke(
            command.constructor.name.replace(/Command$/, '') as SecretsManagerOp,
            {
              ...command.input,
            } as Record<string, unknown>,
          ).then(asSdkOutput),
        destroy() {},
      }) as unknown as SecretsManagerClient,
    calls: (op) => callCounts.get(op) ?? 0,
    resetCalls() {
      callCounts.clear();
    },
    async stop() {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
