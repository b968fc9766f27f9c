import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenWorkflowStack } from '../../examples/step-functions/token-workflow-stack.js';
import { configFromContext } from '../../lib/config.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import { announce } from '../support/announce.js';
import { allowSlowSynthesis } from './helpers.js';

allowSlowSynthesis();

/**
 * cfn-lint checks the synthesized templates against CloudFormation's own resource schemas (every region),
 * an independent reading of what AWS accepts. Issue 12: 0 errors, and every warning that stays is
 * acknowledged here with its reason. Where cfn-lint is absent the test says so and skips; under `CI=true`
 * an absent cfn-lint fails.
 */

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path: ReadonlyArray<string | number> };
}

interface Acknowledgement {
  readonly rule: string;
  /** Matches `<template file> <path in the template>` of the finding. */
  readonly where: RegExp;
  readonly reason: string;
}

const ACKNOWLEDGED: readonly Acknowledgement[] = [
  {
    rule: 'W3005',
    where: /^\S+\.template\.json Resources\/\w+\/DependsOn\/\d+$/,
    reason:
      "CDK makes a function (or state machine) depend on its role and the role's default policy, so it is not created before its permissions are; cfn-lint notes the role dependency is already implied by GetAtt. Harmless and CDK's own output.",
  },
];

const cfnLintVersion = (): string | undefined => {
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
};

/** The context of cdk.json, so the test synthesizes what `cdk synth` would. */
const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;

const version = cfnLintVersion();
const inCi = process.env.CI === 'true';
if (version === undefined && !inCi) {
  announce('cfn-lint is not on the PATH: skipping the CloudFormation schema check (pip install cfn-lint)');
}

describe('cfn-lint over every synthesized template', () => {
  it.runIf(version === undefined && inCi)('is installed when CI=true', () => {
    expect(version, 'cfn-lint must be installed in CI (pip install cfn-lint)').toBeDefined();
  });

  describe.runIf(version !== undefined)(`with ${version}`, () => {
    let outdir: string;
    let findings: Finding[];

    beforeAll(() => {
      outdir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
      // Bundling is skipped: cfn-lint reads templates, not function code.
      const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
      const config = configFromContext(app.node);
      new TokenVendorStack(app, config.stackName, config.stackProps);
      // Every optional branch of the construct: CMK, alarm topic, private API, organization and accounts.
      new TokenVendorStack(app, 'WithReferences', {
        tableKmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:alarms',
        allowedPrincipalArns: ['arn:aws:iam::222222222222:role/consumer'],
        vpcEndpointIds: ['vpce-0123456789abcdef0'],
        vendor: { organizationId: 'o-abcdefghij', allowedAccounts: ['111111111111'] },
      });
      new TokenWorkflowStack(app, 'StepFunctionsExample');
      app.synth();
      const templates = readdirSync(outdir)
        .filter((name) => name.endsWith('.template.json'))
        .map((name) => join(outdir, name));
      expect(templates).toHaveLength(3);
      const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...templates], { encoding: 'utf8' });
      // Exit codes are bit flags (2 errors, 4 warnings, 8 informational); 1 or an empty output is a crash.
      expect(run.stdout.trim().startsWith('['), run.stderr).toBe(true);
      findings = JSON.parse(run.stdout) as Finding[];
    });

    afterAll(() => {
      if (outdir) rmSync(outdir, { recursive: true, force: true });
    });

    const describeFinding = (f: Finding): string =>
      `${f.Rule.Id} ${f.Filename.split(/[\\/]/).pop()} ${f.Location.Path.join('/')}: ${f.Message}`;
    const where = (f: Finding): string => `${f.Filename.split(/[\\/]/).pop()} ${f.Location.Path.join('/')}`;
    const acknowledged = (f: Finding): boolean =>
      ACKNOWLEDGED.some((a) => a.rule === f.Rule.Id && a.where.test(where(f)));

    it('finds no error', () => {
      expect(findings.filter((f) => f.Level === 'Error').map(describeFinding)).toEqual([]);
    });

    it('finds no warning or note that is not acknowledged with a reason', () => {
      expect(findings.filter((f) => f.Level !== 'Error' && !acknowledged(f)).map(describeFinding)).toEqual(
        [],
      );
    });

    it('acknowledges nothing that no longer occurs', () => {
      const unused = ACKNOWLEDGED.filter(
        (a) => !findings.some((f) => a.rule === f.Rule.Id && a.where.test(where(f))),
      );
      expect(unused.map((a) => a.rule)).toEqual([]);
    });
  });
});
