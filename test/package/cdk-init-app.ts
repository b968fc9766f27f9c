/**
 * A `cdk init app --language typescript` project as the aws-cdk CLI writes it (issue 22): CommonJS (no
 * `"type"` in package.json), the init template's tsconfig.json and cdk.json with the CLI's current recommended
 * feature flags as context, `bin/` and `lib/` as generated, the stack using the construct the way README.md and
 * docs/deploy.md show. Its sources come from the CLI's own init template in node_modules, so a new CLI's
 * template or flags are what the test runs.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The project's name (`cdk init` takes it from the directory) and its stack's. */
export const INIT_APP_NAME = 'marketo-app';
export const INIT_STACK_NAME = 'MarketoAppStack';
/** The partner role docs/deploy.md grants across accounts, and its client. */
export const PARTNER_ROLE_ARN = 'arn:aws:iam::222222222222:role/partner-sync';
export const PARTNER_CLIENT = '7f3c0e1a-1111-2222-3333-444455556666';

/** bin/<name>.ts as the init template has it (comments dropped). */
const BIN = `#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib/core';
import { ${INIT_STACK_NAME} } from '../lib/${INIT_APP_NAME}-stack';

const app = new cdk.App();
new ${INIT_STACK_NAME}(app, '${INIT_STACK_NAME}', {});
`;

/** lib/<name>-stack.ts: the README's construct and grant, and docs/deploy.md's cross-account grant. */
const STACK = `import * as cdk from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MarketoTokenVendor } from 'marketo-token-vendor/construct';

export class ${INIT_STACK_NAME} extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const alarmTopic = new sns.Topic(this, 'Alarms');
    const vendor = new MarketoTokenVendor(this, 'MarketoTokens', { alarmTopic, allowedAccounts: ['222222222222'] });
    const syncFunction = new lambda.Function(this, 'SyncFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
    vendor.grantVend(syncFunction, 'my-sync');
    const partner = iam.Role.fromRoleArn(this, 'PartnerSync', '${PARTNER_ROLE_ARN}');
    vendor.grantVend(partner, '${PARTNER_CLIENT}');
  }
}
`;

/** The aws-cdk CLI's init material, from the repository's node_modules. */
const cliInit = (root: string) => {
  const cli = dirname(createRequire(join(root, 'package.json')).resolve('aws-cdk/package.json'));
  const templates = join(cli, 'lib', 'init-templates');
  const json = (path: string) =>
    JSON.parse(readFileSync(join(templates, path), 'utf8')) as Record<string, unknown>;
  return {
    bin: join(cli, 'bin', 'cdk'),
    tsconfig: json('app/typescript/tsconfig.json'),
    cdkJson: json('app/typescript/cdk.template.json'),
    // What `cdk init` writes into cdk.json's context (currentlyRecommendedAwsCdkLibFlags in the CLI).
    recommendedFlags: json('.recommended-feature-flags.json'),
  };
};

/** Writes the project into `dir` (inside a directory whose node_modules holds the packed package). */
export async function writeCdkInitApp(dir: string, root: string): Promise<Record<string, unknown>> {
  const init = cliInit(root);
  const compilerOptions = init.tsconfig.compilerOptions as Record<string, unknown>;
  // The template names jest's and node's types, which a fresh project gets from its own devDependencies;
  // this one type-checks without them (it uses neither).
  const tsconfig = {
    ...init.tsconfig,
    compilerOptions: { ...compilerOptions, types: [], typeRoots: undefined },
  };
  const cdkJson = {
    ...init.cdkJson,
    app: `npx tsc && npx tsx bin/${INIT_APP_NAME}.ts`,
    context: init.recommendedFlags,
  };
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'lib'), { recursive: true });
  await Promise.all([
    // No "type": CommonJS, as the init template's package.json.
    writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: INIT_APP_NAME, version: '0.1.0', bin: { [INIT_APP_NAME]: `bin/${INIT_APP_NAME}.js` } }, null, 2)}\n`,
    ),
    writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`),
    writeFile(join(dir, 'cdk.json'), `${JSON.stringify(cdkJson, null, 2)}\n`),
    writeFile(join(dir, 'bin', `${INIT_APP_NAME}.ts`), BIN),
    writeFile(join(dir, 'lib', `${INIT_APP_NAME}-stack.ts`), STACK),
  ]);
  return init.recommendedFlags;
}

/**
 * `cdk synth` of the project, as its cdk.json says (`tsc`, then `tsx`), with the repository's typescript and
 * tsx instead of `npx` fetching them; offline, no Docker (bundling uses the installed esbuild).
 */
export async function cdkSynth(dir: string, root: string): Promise<void> {
  const local = (path: string) => join(root, 'node_modules', path);
  const app = `"${process.execPath}" "${local('typescript/bin/tsc')}" && "${process.execPath}" "${local('tsx/dist/cli.mjs')}" bin/${INIT_APP_NAME}.ts`;
  await run(process.execPath, [cliInit(root).bin, 'synth', '--app', app, '--quiet', '--no-notices'], {
    cwd: dir,
    env: { ...process.env, CDK_DOCKER: 'false', CDK_DISABLE_VERSION_CHECK: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
}
