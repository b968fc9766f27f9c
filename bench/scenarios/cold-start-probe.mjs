// Cold start probe, run by bench/scenarios/cold-start.ts in a fresh `node` (plain JavaScript, no loader, so
// nothing but the bundle is on the start-up path).
//
//   node cold-start-probe.mjs <bundle> import             import the bundle, report, exit
//   node cold-start-probe.mjs <bundle> vend <clientId>    import it and answer one GET /tokens/{clientId}
//
// Prints one line `PROBE {json}` (importMs, vendMs, statusCode, cpuMs: the process's CPU time so far, which a
// busy machine changes far less than wall time) after the handler's own log lines, then
// exits at once (the SDK's keep-alive sockets would otherwise hold the process open).
import { pathToFileURL } from 'node:url';

const [bundle, mode, clientId] = process.argv.slice(2);
const started = performance.now();
const module = await import(pathToFileURL(bundle).href);
const imported = performance.now();
let statusCode;
if (mode === 'vend') {
  const event = {
    httpMethod: 'GET',
    resource: '/tokens/{clientId}',
    path: `/tokens/${clientId}`,
    pathParameters: { clientId },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { identity: { userArn: 'arn:aws:iam::111122223333:role/bench', caller: 'AROABENCH' } },
  };
  const context = {
    functionName: 'vend',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:vend',
    memoryLimitInMB: '512',
    awsRequestId: 'cold-start-probe',
    logGroupName: '/aws/lambda/vend',
    logStreamName: 'probe',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done() {},
    fail() {},
    succeed() {},
  };
  const result = await module.handler(event, context);
  statusCode = result.statusCode;
}
const vended = performance.now();
const cpu = process.cpuUsage();
process.stdout.write(
  `PROBE ${JSON.stringify({
    // performance.now() counts from process start: what ran before the import began is Node itself.
    bootMs: started,
    importMs: imported - started,
    vendMs: mode === 'vend' ? vended - imported : undefined,
    cpuMs: (cpu.user + cpu.system) / 1000,
    statusCode,
  })}\n`,
  () => process.exit(0),
);
