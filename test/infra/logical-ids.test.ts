import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { configFromContext } from '../../lib/config.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';
import { allowSlowSynthesis } from './helpers.js';

allowSlowSynthesis();

/**
 * Logical ids are public API: renaming one replaces the resource, and the table is RETAIN (a rename
 * would orphan it and create an empty one). This list is the default stack of `cdk synth` (cdk.json
 * context), sorted. Adding a resource adds a line here on purpose; removing or renaming one is a
 * breaking change for every deployed vendor and needs a CHANGELOG entry saying so.
 *
 * The API deployment's suffix is a hash of the API's configuration: CDK changes it whenever a method,
 * resource policy or gateway response changes, so that CloudFormation makes a new deployment. Only
 * its stable prefix is locked.
 */
const LOCKED_RESOURCE_IDS = [
  'VendorApi500F94A1',
  'VendorApi5xxAlarm7C23C46D',
  'VendorApiAccessDeniedA304E05B',
  'VendorApiAccessLogs9785C427',
  'VendorApiAccountBE928D99',
  'VendorApiBadRequestBodyF8A4FD07',
  'VendorApiBadRequestParametersC48AD462',
  'VendorApiCloudWatchRoleE3341554',
  'VendorApiDefault4xx927DF5D2',
  'VendorApiDefault5xx7D529AAA',
  'VendorApiDeployment09EEEFD7<hash>',
  'VendorApiDeploymentStagev18B8928FB',
  'VendorApiExpiredSignature6B3BFF15',
  'VendorApiInvalidSignature90C3EA05',
  'VendorApiInvalidateRequest0C73F56B',
  'VendorApiMissingAuth3D7CA276',
  'VendorApiRequestTooLarge22A70B23',
  'VendorApiRequestValidatorD3D9B430',
  'VendorApiThrottledF38BC895',
  'VendorApiinstancesE1F3095D',
  'VendorApiinstancesinstance7FCCBF02',
  'VendorApiinstancesinstancebulkslotsD11F4768',
  'VendorApiinstancesinstancebulkslotsPOST243CFDAB',
  'VendorApiinstancesinstancebulkslotsPOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstancebulkslots08C20167',
  'VendorApiinstancesinstancebulkslotsrelease1EC49369',
  'VendorApiinstancesinstancebulkslotsreleasePOST9F5809A0',
  'VendorApiinstancesinstancebulkslotsreleasePOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstancebulkslotsrelease3E48D20E',
  'VendorApiinstancesinstancebulkslotsrenew930598D8',
  'VendorApiinstancesinstancebulkslotsrenewPOST67C352FF',
  'VendorApiinstancesinstancebulkslotsrenewPOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstancebulkslotsrenewDE90398A',
  'VendorApiinstancesinstanceinvalidate25ED0B7D',
  'VendorApiinstancesinstanceinvalidatePOST46F13DA8',
  'VendorApiinstancesinstanceinvalidatePOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstanceinvalidateB7967632',
  'VendorApiinstancesinstancepermitsA529F801',
  'VendorApiinstancesinstancepermitsPOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstancepermits4DA98D0D',
  'VendorApiinstancesinstancepermitsPOSTF2DA0988',
  'VendorApiinstancesinstancepermitsreleaseF862AE1D',
  'VendorApiinstancesinstancepermitsreleasePOSTApiPermissionMarketoTokenVendorApiF959F638POSTinstancesinstancepermitsreleaseB72D67BD',
  'VendorApiinstancesinstancepermitsreleasePOSTEA07045A',
  'VendorApiinstancesinstancetokenDC2212BD',
  'VendorApiinstancesinstancetokenGETApiPermissionMarketoTokenVendorApiF959F638GETinstancesinstancetokenE1E06EF1',
  'VendorApiinstancesinstancetokenGETF992016D',
  'VendorApitokensD76D171F',
  'VendorApitokensclientId253516B8',
  'VendorApitokensclientIdGETApiPermissionMarketoTokenVendorApiF959F638GETtokensclientIdC1E93750',
  'VendorApitokensclientIdGETF4906CED',
  'VendorApitokensclientIdbulkslots535BE5FC',
  'VendorApitokensclientIdbulkslotsPOST7EC129D1',
  'VendorApitokensclientIdbulkslotsPOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdbulkslots179FAB75',
  'VendorApitokensclientIdbulkslotsreleaseB7481407',
  'VendorApitokensclientIdbulkslotsreleasePOST9037B35D',
  'VendorApitokensclientIdbulkslotsreleasePOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdbulkslotsrelease998A75CD',
  'VendorApitokensclientIdbulkslotsrenewCB71F7C0',
  'VendorApitokensclientIdbulkslotsrenewPOST913BA795',
  'VendorApitokensclientIdbulkslotsrenewPOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdbulkslotsrenewBEF6CDA4',
  'VendorApitokensclientIdinvalidateB4D08462',
  'VendorApitokensclientIdinvalidatePOSTA3B0CBB5',
  'VendorApitokensclientIdinvalidatePOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdinvalidate626C0732',
  'VendorApitokensclientIdpermitsAC65D653',
  'VendorApitokensclientIdpermitsPOSTADA02BF5',
  'VendorApitokensclientIdpermitsPOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdpermits43F9FC5C',
  'VendorApitokensclientIdpermitsrelease4AF10740',
  'VendorApitokensclientIdpermitsreleasePOSTApiPermissionMarketoTokenVendorApiF959F638POSTtokensclientIdpermitsreleaseB863AC5A',
  'VendorApitokensclientIdpermitsreleasePOSTC40C9150',
  'VendorBudgetDailyQuotaAlarmEE44EC32',
  'VendorBudgetTable5803AAA0',
  'VendorCredentialsRejectedAlarm448DF538',
  'VendorDashboardA7613BFC',
  'VendorIdentityErrorsAlarmBAA6DE3B',
  // Issue 25: the refresher's backlog alarm (RefreshOverdue), added on purpose.
  'VendorRefreshBacklogAlarm3BB693C3',
  'VendorRefreshBatchesA829D3E7',
  'VendorRefreshBatchesPolicy1581D1CB',
  'VendorRefreshDeadLettersAlarmED496B8D',
  'VendorRefreshDeadLettersFB2A864D',
  'VendorRefreshDeadLettersPolicyF3B61EFC',
  'VendorRefreshErrorsAlarmC3BC84C0',
  'VendorRefreshFailuresAlarm10436464',
  'VendorRefreshFunction1736443B',
  'VendorRefreshFunctionEventInvokeConfigECCB27CD',
  'VendorRefreshFunctionSqsEventSourceMarketoTokenVendorRefreshBatchesCB1E900221BDD0A6',
  'VendorRefreshLogs65EC74BE',
  'VendorRefreshRole25038D66',
  'VendorRefreshRoleDefaultPolicy2C9AF513',
  'VendorRefreshSchedule3001B684',
  'VendorRefreshScheduleAllowEventRuleMarketoTokenVendorRefreshFunction769EDF4F13FB311F',
  'VendorRefreshThrottlesAlarm75640C94',
  'VendorTable5A34E91F',
  'VendorVendErrorsAlarmE303FBED',
  'VendorVendFunction2552CCDA',
  'VendorVendLogs6683EB95',
  'VendorVendRole5A3845B4',
  'VendorVendRoleDefaultPolicyB5606F51',
  'VendorVendThrottlesAlarm8999A820',
];

const LOCKED_OUTPUT_IDS = [
  'ApiUrl',
  'SecretPrefix',
  'TableName',
  'VendFunctionName',
  'VendorApiEndpointE9F0A4F9',
];

const DEPLOYMENT_HASH = /^(VendorApiDeployment09EEEFD7)[0-9a-f]{32}$/;

/** One synthesis takes about 5 s alone; under a loaded machine (8 suites at once) it took 49 s. */
const SYNTH_TIMEOUT_MS = 180_000;

/** The context of cdk.json, so the test synthesizes what `cdk synth` would. */
const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;

describe('the logical ids of the default stack', () => {
  let template: Record<string, Record<string, unknown>>;

  beforeAll(() => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const config = configFromContext(app.node);
    const stack = new TokenVendorStack(app, config.stackName, config.stackProps);
    template = Template.fromStack(stack).toJSON() as Record<string, Record<string, unknown>>;
  }, SYNTH_TIMEOUT_MS);

  it('are exactly the locked resource ids (the deployment up to its configuration hash)', () => {
    const ids = Object.keys(template.Resources ?? {})
      .map((id) => id.replace(DEPLOYMENT_HASH, '$1<hash>'))
      .sort();
    expect(ids).toEqual(LOCKED_RESOURCE_IDS);
  });

  it('has exactly the locked output ids', () => {
    expect(Object.keys(template.Outputs ?? {}).sort()).toEqual(LOCKED_OUTPUT_IDS);
  });
});
