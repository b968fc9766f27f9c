#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth` / `npx cdk deploy`. Configuration comes from `cdk.json` context keys
 * `marketo-token-vendor:*` (see lib/config.ts and docs/deploy.md). cdk-nag's AwsSolutions checks run on
 * every synth: an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config.js';
import { TokenVendorStack } from '../lib/token-vendor-stack.js';

const app = new App();
const config = configFromContext(app.node);
new TokenVendorStack(app, config.stackName, config.stackProps);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
