/**
 * Example app: `npx cdk synth --app "npx tsx examples/step-functions/app.ts"`.
 * Synthesizes the vendor together with an Express workflow that uses `tokenTask`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TokenWorkflowStack } from './token-workflow-stack.js';

const app = new App();
new TokenWorkflowStack(app, 'MarketoTokenWorkflowExample');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
