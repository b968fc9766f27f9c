import { describe, expect, it } from 'vitest';
import { type BannerFacts, startBanner } from '../../../local/banner.js';

const FACTS: BannerFacts = {
  url: 'http://127.0.0.1:8787',
  region: 'us-east-1',
  storeEndpoint: 'dynalite (/repo/.local/dynalite)',
  credentialsSource: '/repo/.local/credentials.json',
  policyPath: '/repo/.local/policy.json',
  dataDir: '.local',
  simulator: {
    identityUrl: 'http://127.0.0.1:8788/identity',
    restUrl: 'http://127.0.0.1:8788',
    demoClientId: 'demo-client',
    limitsLine: '  limits:      …',
  },
  generatedKey: { accessKeyId: 'LOCALKEY', secretAccessKey: 'local-secret' },
};

describe('startBanner', () => {
  it("names the simulator's REST base and the leads it serves", () => {
    expect(startBanner(FACTS)).toContain(
      '  REST API:    http://127.0.0.1:8788/rest/v1/… (simulated leads: GET http://127.0.0.1:8788/rest/v1/leads.json)',
    );
  });

  it('says how a job points at local mode: the local env exports, then the example job', () => {
    const lines = startBanner(FACTS);

    expect(lines).toContain(
      '  eval "$(npx marketo-token-vendor local env)"   # endpoint, region, this key, MARKETO_REST_URL',
    );
    expect(lines).toContain(
      '  npm run example:sync-job                  # Node; Python: python3 examples/sync-job/sync_job.py',
    );
  });

  it('repeats a data directory other than the default in the local env line', () => {
    expect(startBanner({ ...FACTS, dataDir: '/tmp/x' }).join('\n')).toContain(
      'eval "$(npx marketo-token-vendor local env --data-dir /tmp/x)"',
    );
  });

  it('prints no key, and no job lines, when the generated key is gone from the policy file', () => {
    const text = startBanner({ ...FACTS, generatedKey: undefined }).join('\n');

    expect(text).toContain('Access keys: those in /repo/.local/policy.json');
    expect(text).not.toContain('local env');
  });
});
