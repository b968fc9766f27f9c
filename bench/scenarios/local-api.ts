/**
 * Scenario 3, local API throughput: `npm start`'s server (startLocalVendor: SigV4 verification, local
 * policy, the real vend handler, dynalite, file credentials, the simulator) under autocannon at 50
 * connections, asking for the demo client's token (an in-memory hit after the first request).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import autocannon from 'autocannon';
import { DEMO_CLIENT } from '../../local/marketo-simulator.js';
import type { PolicyKey } from '../../local/policy.js';
import { startTestLocalVendor } from '../../testing/local-vendor.js';
import { withDiscardedStdout } from '../lib/quiet.js';
import type { Scenario, ScenarioReport } from '../lib/scenario.js';
import { fmt, nowMs } from '../lib/stats.js';

/** SigV4 headers for `GET <url>` with the generated local key (SigV4 has no nonce: one signature serves a run). */
async function signedHeaders(url: URL, region: string, key: PolicyKey): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    sha256: Sha256,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host },
    }),
  );
  return signed.headers;
}

/** The scenario for `npm run bench`. */
export const localApiScenario: Scenario = {
  id: 'api',
  title: '3. Local API throughput',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const durationS = quick ? 3 : 10;
    const connections = 50;
    const local = await startTestLocalVendor({ dataDirPrefix: 'mtv-bench-local-' });
    try {
      const url = new URL(`/tokens/${DEMO_CLIENT.clientId}`, local.url);
      const headers = await signedHeaders(url, local.region, await local.generatedKey());
      const { result } = await withDiscardedStdout(async () => {
        const warm = await fetch(url, { headers });
        if (warm.status !== 200) throw new Error(`warm-up request answered ${warm.status}`);
        await warm.arrayBuffer();
        const measured = await autocannon({ url: url.toString(), connections, duration: durationS, headers });
        // Requests still in flight when autocannon returns finish (and log) inside the discard window.
        await new Promise((resolve) => setTimeout(resolve, 300));
        return measured;
      });
      const r = result;
      log(`  local API: ${fmt(r.requests.average)} req/s, p99 ${fmt(r.latency.p99)} ms, non-2xx ${r.non2xx}`);
      const markdown = [
        `\`startLocalVendor()\` (what \`npm start\` runs) on 127.0.0.1 with an OS-chosen port, SigV4 verification ` +
          `and the local policy on, under autocannon: ${connections} connections for ${durationS} s, ` +
          '`GET /tokens/demo-client` signed once with the generated local key (SigV4 has no nonce; the server verifies ' +
          'the signature on every request). After the first request every vend is an in-memory hit. Server and ' +
          'load generator share this process (2 cores), so this is a floor.',
        '',
        '| Figure | Value |',
        '|---|---|',
        `| Requests/s (per-second samples) | mean ${fmt(r.requests.average)} ± ${fmt(r.requests.stddev)} [min ${fmt(r.requests.min)}, max ${fmt(r.requests.max)}] |`,
        `| Latency | p50 ${fmt(r.latency.p50)} ms, p97.5 ${fmt(r.latency.p97_5)} ms, p99 ${fmt(r.latency.p99)} ms, max ${fmt(r.latency.max)} ms |`,
        `| Requests | ${r.requests.total.toLocaleString('en-US')} (non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}) |`,
      ].join('\n');
      const violations =
        r.non2xx > 0 || r.errors > 0 ? [`local API: ${r.non2xx} non-2xx answers and ${r.errors} errors`] : [];
      return {
        id: this.id,
        title: this.title,
        markdown,
        console: [
          `api: ${fmt(r.requests.average)} req/s ± ${fmt(r.requests.stddev)}, latency p50 ${fmt(r.latency.p50)} ms, ` +
            `p99 ${fmt(r.latency.p99)} ms, ${r.non2xx} non-2xx, ${r.errors} errors at ${connections} connections`,
        ],
        targets: [],
        violations,
        charts: [],
        durationMs: nowMs() - started,
      };
    } finally {
      await local.stop();
    }
  },
};
