/**
 * What `npm start` prints once local mode runs: where everything is, the key it generated, a curl line that
 * gets a token, and how a job points at it. Built apart from starting anything, so a test reads it.
 */
import { routeOf, routePath } from '../functions/contract/index.js';
import { DEFAULT_LOCAL_DATA_DIR } from './runtime-info.js';

/** What the banner tells about. */
export interface BannerFacts {
  readonly url: string;
  readonly region: string;
  readonly storeEndpoint: string;
  readonly credentialsSource: string;
  readonly policyPath: string;
  /** The `--data-dir` as given (the `local env` line repeats it when it is not the default). */
  readonly dataDir: string;
  readonly simulator?: {
    readonly identityUrl: string;
    readonly restUrl: string;
    readonly demoClientId: string;
    /** The `limits:` line (local/start-options.ts). */
    readonly limitsLine: string;
  };
  /** The key local mode generated, while the policy file still lists it. */
  readonly generatedKey?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** The simulator's REST routes, as the banner names them (docs/local-mode.md has the whole API). */
export const SIMULATOR_LEADS_PATH = '/rest/v1/leads.json';

/** The banner's lines. */
export function startBanner(facts: BannerFacts): string[] {
  const { simulator, generatedKey } = facts;
  const dataDirFlag = facts.dataDir === DEFAULT_LOCAL_DATA_DIR ? '' : ` --data-dir ${facts.dataDir}`;
  const lines = [
    `Marketo token vendor (local mode) listening on ${facts.url}`,
    `  region:      ${facts.region} (sign requests for service execute-api)`,
    `  token store: ${facts.storeEndpoint}`,
    `  credentials: ${facts.credentialsSource}`,
    `  policy:      ${facts.policyPath}`,
    ...(simulator
      ? [
          `  simulator:   ${simulator.identityUrl} (demo client "${simulator.demoClientId}")`,
          `  REST API:    ${simulator.restUrl}/rest/v1/… (simulated leads: GET ${simulator.restUrl}${SIMULATOR_LEADS_PATH})`,
          simulator.limitsLine,
        ]
      : []),
    '',
  ];
  if (generatedKey) {
    const { accessKeyId, secretAccessKey } = generatedKey;
    lines.push(
      `Local access key: ${accessKeyId}  secret: ${secretAccessKey}  (local-only, generated for this data directory, in the policy file)`,
      '',
      'Get a token:',
      `  curl --aws-sigv4 "aws:amz:${facts.region}:execute-api" --user ${accessKeyId}:${secretAccessKey} ${facts.url}${routePath(routeOf('token'), simulator?.demoClientId ?? '<clientId>')}`,
      '',
      'Run a sync job against it (in another shell):',
      `  eval "$(npx marketo-token-vendor local env${dataDirFlag})"   # endpoint, region, this key, MARKETO_REST_URL`,
      '  npm run example:sync-job                  # Node; Python: python3 examples/sync-job/sync_job.py',
      '',
    );
  } else {
    lines.push(
      `Access keys: those in ${facts.policyPath} (local mode prints only the key it generated).`,
      '',
    );
  }
  lines.push('Ctrl-C to stop.');
  return lines;
}
