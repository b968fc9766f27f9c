import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenWorkflowStack } from '../../examples/step-functions/token-workflow-stack.js';
import { configFromContext } from '../../lib/config.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import { allowSlowSynthesis, executeApiArn } from './helpers.js';

allowSlowSynthesis();

/** The context of cdk.json, so the test synthesizes what `cdk synth` would. */
const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;

describe('the app, synthesized with real bundles and cdk-nag', () => {
  let app: App;
  let assembly: CloudAssembly;
  let deployable: TokenVendorStack;
  let withReferences: TokenVendorStack;
  let example: TokenWorkflowStack;
  const previousDocker = process.env.CDK_DOCKER;

  beforeAll(() => {
    // Prepare: any fallback to Docker bundling must fail loudly (there is no Docker engine in CI).
    process.env.CDK_DOCKER = 'false';
    app = new App({ context: cdkJsonContext() });
    const config = configFromContext(app.node);
    deployable = new TokenVendorStack(app, config.stackName, config.stackProps);
    withReferences = new TokenVendorStack(app, 'WithReferences', {
      tableKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:alarms',
      allowedPrincipalArns: ['arn:aws:iam::222222222222:role/consumer'],
      vpcEndpointIds: ['vpce-0123456789abcdef0'],
      vendor: { organizationId: 'o-abcdefghij', allowedAccounts: ['111111111111'] },
    });
    example = new TokenWorkflowStack(app, 'Example');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act: synthesis runs the validation plugin and throws on any unacknowledged finding.
    assembly = app.synth();
  });

  afterAll(() => {
    if (previousDocker === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = previousDocker;
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no unacknowledged error or warning in any stack', () => {
      const report = new AwsSolutionsChecks().validateScope(app);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
        [],
      );
      expect(report.success).toBe(true);
    });
  });

  describe('function bundles', () => {
    const bundleOf = (stackName: string, functionPathPart: string): string => {
      const artifact = assembly.getStackByName(stackName);
      const resources = artifact.template.Resources as Record<
        string,
        { Type: string; Properties: { Code?: { S3Key?: string } } }
      >;
      const entry = Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.includes(functionPathPart),
      );
      // The asset's S3 key is `<hash>.zip`; the staged bundle sits in `asset.<hash>/`.
      const hash = entry?.[1].Properties.Code?.S3Key?.replace(/\.zip$/, '');
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      return join(assembly.directory, `asset.${hash}`);
    };

    it('builds RefreshFunction locally as one ESM file with a source map', () => {
      const directory = bundleOf(deployable.stackName, 'RefreshFunction');
      expect(readdirSync(directory).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(directory, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'node:module';")).toBe(true);
    });

    it('builds VendFunction locally as code-split ESM: an entry, its chunks, each with a source map', () => {
      const files = readdirSync(bundleOf(deployable.stackName, 'VendFunction')).sort();
      expect(files).toContain('index.mjs');
      const code = files.filter((file) => file.endsWith('.mjs'));
      expect(code.length).toBeGreaterThan(1);
      expect(files.filter((file) => file.endsWith('.mjs.map')).length).toBe(code.length);
      const entry = readFileSync(join(bundleOf(deployable.stackName, 'VendFunction'), 'index.mjs'), 'utf8');
      expect(entry.startsWith("import { createRequire } from 'node:module';")).toBe(true);
    });

    it.each(['VendFunction', 'RefreshFunction'])(
      'bundles the AWS SDK into %s, leaving only the optional SigV4a/CRT probes external',
      (name) => {
        const directory = bundleOf(deployable.stackName, name);
        const code = readdirSync(directory)
          .filter((file) => file.endsWith('.mjs'))
          .map((file) => readFileSync(join(directory, file), 'utf8'))
          .join('\n');
        // Smithy probes for these optional signers inside try/catch; we never sign with SigV4a.
        const optional = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);
        const external = [
          ...code.matchAll(/(?:require\(|from\s*|import\()["'](@aws-sdk\/[a-z0-9-]+|@smithy\/[a-z0-9-]+)/g),
        ]
          .map((match) => match[1] ?? '')
          .filter((module) => !optional.has(module));
        expect(external).toEqual([]);
      },
    );

    it.each(['VendFunction', 'RefreshFunction'])(
      '%s loads in a fresh Node process and exports handler',
      (name) => {
        const file = join(bundleOf(deployable.stackName, name), 'index.mjs');
        // Catches ESM problems (a missing require shim, top-level failures) before a deploy would.
        const output = execFileSync(
          process.execPath,
          ['-e', `import(${JSON.stringify(file)}).then((m) => console.log(typeof m.handler))`],
          {
            env: {
              PATH: process.env.PATH,
              TABLE_NAME: 'tokens',
              AWS_REGION: 'eu-west-1',
              POWERTOOLS_METRICS_DISABLED: 'true',
            },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        expect(output.trim()).toBe('function');
      },
    );

    it.each(['VendFunction', 'RefreshFunction'])(
      'keeps %s under 1 MB minified and 300 KB gzipped',
      (name) => {
        const file = join(bundleOf(deployable.stackName, name), 'index.mjs');
        const bytes = statSync(file).size;
        const gzipped = gzipSync(readFileSync(file)).length;
        expect(bytes).toBeLessThan(1_000_000);
        expect(gzipped).toBeLessThan(300_000);
      },
    );
  });

  describe('deployable stack', () => {
    it('reads its settings from cdk.json context and stays environment-agnostic', () => {
      expect(deployable.stackName).toBe('MarketoTokenVendor');
      expect(deployable.environment).toBe('aws://unknown-account/unknown-region');
      Template.fromStack(deployable).hasOutput('ApiUrl', {});
    });

    it('wires alarms to the topic and the table to the key given by ARN', () => {
      const template = Template.fromStack(withReferences);
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:alarms'] },
        11,
      );
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: {
          KMSMasterKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        },
      });
    });
  });

  describe('stack with VPC endpoint ids', () => {
    it('makes the API private, reachable only through those endpoints', () => {
      const template = Template.fromStack(withReferences);
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: ['vpce-0123456789abcdef0'] },
      });
      expect(JSON.stringify(template.findResources('AWS::ApiGateway::RestApi'))).toContain('aws:SourceVpce');
    });
  });

  describe('Step Functions example', () => {
    it('synthesizes an Express workflow that logs only errors, without execution data', () => {
      Template.fromStack(example).hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'EXPRESS',
        LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
        TracingConfiguration: { Enabled: true },
      });
    });

    it('calls GET /tokens/<clientId> with IAM_ROLE auth and keeps only the token fields', () => {
      const machine = Object.values(
        Template.fromStack(example).findResources('AWS::StepFunctions::StateMachine'),
      )[0];
      const definition = JSON.stringify(machine?.Properties.DefinitionString);
      expect(definition).toContain('\\"AuthType\\":\\"IAM_ROLE\\"');
      expect(definition).toContain('\\"Path\\":\\"/tokens/example-client\\"');
      expect(definition).toContain(
        '\\"ResultSelector\\":{\\"accessToken.$\\":\\"$.ResponseBody.accessToken\\",\\"tokenType.$\\":\\"$.ResponseBody.tokenType\\",\\"expiresAt.$\\":\\"$.ResponseBody.expiresAt\\",\\"expiresIn.$\\":\\"$.ResponseBody.expiresIn\\"}',
      );
    });

    it('lets the workflow role invoke exactly GET /tokens/example-client', () => {
      const apiId =
        Object.keys(Template.fromStack(example).findResources('AWS::ApiGateway::RestApi'))[0] ?? '';
      Template.fromStack(example).hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^SyncWorkflowRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: 'execute-api:Invoke',
              Effect: 'Allow',
              Resource: executeApiArn(apiId, 'v1/GET/tokens/example-client'),
            },
          ]),
        },
      });
    });
  });
});
