/**
 * `npx marketo-token-vendor <command>`: the operator CLI. Registers Marketo Custom Services, shows which
 * tokens are cached and why a refresh failed, forces refreshes through the same core code as the
 * Lambdas, and removes clients, against AWS or local mode (`--local`). It never prints a client secret
 * or a full access token: tokens appear only as `fingerprint()`.
 */

import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_SECRET_PREFIX, ENV } from '../functions/contract/index.js';
import { DEFAULT_LOCAL_DATA_DIR, LOCAL_TABLE_NAME } from '../local/runtime-info.js';
import { addClient } from './clients/add.js';
import { CHECK_HELP, type CheckOptions, checkClient, DEFAULT_CHECK_MAX_CALLS } from './clients/check.js';
import type { PolicyOptions } from './clients/identity-policy.js';
import { listClients } from './clients/list.js';
import { type RefreshOptions, refreshClients } from './clients/refresh.js';
import { removeClientCommand } from './clients/remove.js';
import { showStatus } from './clients/status.js';
import { describeError, EXIT_OK, EXIT_USAGE, usageError } from './errors.js';
import { addInstancesCommands } from './instances-commands.js';
import type { CliIo } from './io.js';
import { collect, GLOBAL_HELP, integerIn, SHOWN_AS_ASKED, url } from './options.js';
import { type GlobalOptions, openTarget, type Target } from './target.js';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.js';
export type { CliIo } from './io.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * More commands for the program: in a clone of the repository, cli/bin.js adds `local env` / `local exec`
 * (cli/local-env.ts), which need local mode's sources; the published package ships no local mode, and
 * its CLI has no such command.
 */
export type CliExtension = (
  program: Command,
  io: CliIo,
  env: Env,
  setExitCode: (code: number) => void,
) => void;

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Builds a fresh program whose output goes to `io` (no global state: runCli may run many times). */
function buildProgram(
  io: CliIo,
  env: Env,
  setExitCode: (code: number) => void,
  extensions: readonly CliExtension[],
): Command {
  const program = new Command('marketo-token-vendor')
    .description('Operate the Marketo token vendor: register clients, inspect and refresh their tokens')
    .version(version)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage and examples)')
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--profile <profile>', 'AWS shared-config profile (default: AWS_PROFILE or the default chain)')
    .option(
      '--prefix <prefix>',
      `secret name prefix (default: ${ENV.secretPrefix} or ${DEFAULT_SECRET_PREFIX})`,
    )
    .option('--table <name>', `token table (default: ${ENV.tableName}; local: ${LOCAL_TABLE_NAME})`)
    .option(
      '--budget-table <name>',
      `API budget table (default: ${ENV.budgetTableName}; local: <table>-budget)`,
    )
    .option('--local', "target local mode (npm start's store and credentials file) instead of AWS")
    .option('--data-dir <dir>', 'local mode data directory', DEFAULT_LOCAL_DATA_DIR)
    .option('--endpoint-dynamodb <url>', 'DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB)', url)
    .option(
      '--endpoint-secrets-manager <url>',
      'Secrets Manager endpoint (default: AWS_ENDPOINT_URL_SECRETS_MANAGER)',
      url,
    )
    .option(
      '--allow-host <host>',
      'also accept this Identity host (repeatable; *.example.com allowed)',
      collect,
    )
    .option('--allow-loopback', 'accept http://127.0.0.1 Identity URLs (local simulator; never production)')
    .addHelpText('after', GLOBAL_HELP);

  /** Opens the target for one action and always closes it. */
  const withTarget = async (command: Command, action: (target: Target) => Promise<number | undefined>) => {
    const globals = command.optsWithGlobals<
      GlobalOptions & { allowHost?: string[]; allowLoopback?: boolean }
    >();
    if (globals.local && (globals.endpointDynamodb || globals.endpointSecretsManager || globals.profile)) {
      throw usageError(
        '--local cannot be combined with --endpoint-* or --profile (local mode has its own store)',
      );
    }
    const target = await openTarget(globals, env);
    try {
      setExitCode((await action(target)) ?? EXIT_OK);
    } finally {
      await target.close();
    }
  };
  const policyOf = (command: Command) => {
    const { allowHost, allowLoopback } = command.optsWithGlobals<{
      allowHost?: string[];
      allowLoopback?: boolean;
    }>();
    return { ...(allowHost === undefined ? {} : { allowHost }), allowLoopback: allowLoopback === true };
  };

  const clients = program
    .command('clients')
    .description('register, list, inspect, refresh and remove Marketo clients (Custom Services)')
    .addHelpText('after', '\nRun `marketo-token-vendor clients <command> --help` for examples.');

  clients
    .command('add')
    .description(
      'register a client, or update it: validates the Identity URL, reads the secret (hidden prompt or ' +
        '--secret-stdin), verifies it with Identity once, then creates or updates the secret',
    )
    .argument('<clientId>', 'the Client Id of the Custom Service (Admin > LaunchPoint > View Details)')
    .requiredOption(
      '--identity-url <url>',
      'Identity URL from Admin > Web Services, e.g. https://123-ABC-456.mktorest.com/identity',
    )
    .option('--rest-url <url>', 'REST endpoint (informational, for consumers)')
    .option('--instance <name>', 'Marketo instance (Munchkin id or label); clients sharing it form a pool')
    .option('--secret-stdin', 'read the client secret from stdin instead of a hidden prompt')
    .option('--no-verify', 'save without asking Identity for a token first')
    .option('--kms-key-id <key>', 'KMS key for a new secret (AWS; default: aws/secretsmanager)')
    .addHelpText(
      'after',
      `
The client secret is never accepted as a flag (it would land in shell history and process lists).

Examples:
  $ marketo-token-vendor clients add my-sync --identity-url https://123-ABC-456.mktorest.com/identity
  $ printf '%s' "$SECRET" | marketo-token-vendor clients add my-sync \\
      --identity-url https://123-ABC-456.mktorest.com/identity --instance 123-ABC-456 --secret-stdin
  # local mode, against the built-in simulator
  $ echo demo-secret-change-me | marketo-token-vendor --local --allow-loopback clients add demo-client \\
      --identity-url http://127.0.0.1:8788/identity --secret-stdin
`,
    )
    .action(async (clientId: string, options, command: Command) => {
      await withTarget(command, async (target) => {
        await addClient(target, io, clientId, { ...options, ...policyOf(command) }, env);
        return EXIT_OK;
      });
    });

  clients
    .command('list')
    .description(
      'every client: instance, identity host, token status (valid/expiring/missing/error), expiry, last error',
    )
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Status: valid (more than 5 min left), expiring (less), missing (none cached or expired), error (the last
refresh failed; see LAST ERROR). Tokens are shown only as fingerprints (first 8 hex of SHA-256).

Examples:
  $ marketo-token-vendor clients list --table MarketoTokenVendor-Tokens
  $ marketo-token-vendor clients list --json | jq '.[] | select(.status == "error")'
  $ marketo-token-vendor clients list --local
`,
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      await withTarget(command, async (target) => {
        await listClients(target, io, options);
        return EXIT_OK;
      });
    });

  clients
    .command('status')
    .description('one client in detail: token fingerprint, expiry, last refresh, lease, last error')
    .argument('<clientId>')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  $ marketo-token-vendor clients status my-sync
  $ marketo-token-vendor clients status my-sync --json
`,
    )
    .action(async (clientId: string, options: { json?: boolean }, command: Command) => {
      await withTarget(command, async (target) => {
        await showStatus(target, io, clientId, options);
        return EXIT_OK;
      });
    });

  clients
    .command('check')
    .description(
      'what the Custom Service may do: one read-only call per permission family (never a write), through ' +
        'the shared budget; prints the permission table and the owning API user',
    )
    .argument('<clientId>')
    .option('--json', 'machine-readable output')
    .option(
      '--max-calls <n>',
      'most Marketo calls to spend, a retry after 601/602 included',
      integerIn(1, 50),
      DEFAULT_CHECK_MAX_CALLS,
    )
    .addHelpText('after', CHECK_HELP)
    .action(async (clientId: string, options: Omit<CheckOptions, keyof PolicyOptions>, command: Command) => {
      await withTarget(command, (target) =>
        checkClient(target, io, clientId, { ...options, ...policyOf(command) }, env),
      );
    });

  clients
    .command('refresh')
    .description('fetch missing or expired tokens now, through the same core code as the Lambdas')
    .argument('[clientId]', 'the client to refresh (or --all)')
    .option('--all', 'every registered client, with a progress bar and a summary')
    .option(
      '--force',
      'ask Identity even when the cached token is valid (Marketo then returns the same token: it only issues a new one at expiry)',
    )
    .option('--concurrency <n>', 'clients refreshed at once with --all', integerIn(1, 32), 4)
    .option('--max-wait <seconds>', 'how long one client may take', integerIn(1, 900), 30)
    .addHelpText(
      'after',
      `
Marketo returns the same token until it expires, so refreshing a valid token changes nothing: the command
says so. Missing, expired or failed tokens are fetched (and their last error cleared).

Examples:
  $ marketo-token-vendor clients refresh my-sync
  $ marketo-token-vendor clients refresh --all --concurrency 8
  $ marketo-token-vendor clients refresh my-sync --force
`,
    )
    .action(async (clientId: string | undefined, options: RefreshOptions, command: Command) => {
      await withTarget(command, (target) =>
        refreshClients(target, io, clientId, { ...options, ...policyOf(command) }, env),
      );
    });

  clients
    .command('remove')
    .description('delete the secret (with a recovery window) and the cached token, after a confirmation')
    .argument('<clientId>')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(
      new Option('--recovery-window-days <days>', 'days the secret stays restorable (AWS)')
        .argParser(integerIn(7, 30))
        .default(7)
        .conflicts('forceDeleteWithoutRecovery'),
    )
    .option('--force-delete-without-recovery', 'delete the secret at once, with no way to restore it (AWS)')
    .addHelpText(
      'after',
      `
Examples:
  $ marketo-token-vendor clients remove my-sync
  $ marketo-token-vendor clients remove my-sync --yes --recovery-window-days 30
  # restore within the window:
  $ aws secretsmanager restore-secret --secret-id ${DEFAULT_SECRET_PREFIX}my-sync
`,
    )
    .action(
      async (
        clientId: string,
        options: { yes?: boolean; recoveryWindowDays: number; forceDeleteWithoutRecovery?: boolean },
        command: Command,
      ) => {
        await withTarget(command, async (target) => {
          await removeClientCommand(target, io, clientId, options);
          return EXIT_OK;
        });
      },
    );

  addInstancesCommands(program, io, withTarget);

  for (const extend of extensions) extend(program, io, env, setExitCode);

  return program;
}

/**
 * Runs the CLI on `argv` (arguments after the program name) with the given streams; resolves with the
 * exit code instead of exiting, so tests run it in-process.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  env: Env = process.env,
  extensions: readonly CliExtension[] = [],
): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(
    io,
    env,
    (code) => {
      exitCode = code;
    },
    extensions,
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return SHOWN_AS_ASKED.has(error.code) ? EXIT_OK : EXIT_USAGE;
    const described = describeError(error);
    io.stderr.write(`error: ${described.message}\n`);
    return described.exitCode;
  }
}

/** Entry point of the bin shim: the process's own streams, exit code set on the process. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  extensions: readonly CliExtension[] = [],
): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Output piped into `head` and the like: a closed pipe ends the command quietly, as other CLIs do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  process.exitCode = await runCli(
    argv,
    { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    process.env,
    extensions,
  );
}
