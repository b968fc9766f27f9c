/**
 * Scenario 4, cold start proxy: each Lambda's bundle exactly as the CDK stack builds it (the stack is
 * synthesized in process, so the construct's own esbuild options apply), its size, and how long a fresh
 * `node` process takes to import the vend bundle and answer its first vend from the store (a fresh
 * process has an empty memory: the hit path of a cold Lambda is a store hit). Times are medians of
 * fresh processes, minus a bare `node -e 0`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { DynamoTokenStore } from '../../functions/adapters/dynamo-token-store.js';
import { createTestTable, startDynalite } from '../../testing/dynalite.js';
import { type LambdaBundle, synthesizeBundles } from '../lib/lambda-bundles.js';
import type { Scenario, ScenarioReport, TargetCheck } from '../lib/scenario.js';
import { fmt, nowMs, type Summary, summarize } from '../lib/stats.js';
import { barChartSvg } from '../lib/svg.js';

const PROBE = fileURLToPath(new URL('./cold-start-probe.mjs', import.meta.url));
const EAGER_ENTRY = fileURLToPath(new URL('./cold-start-eager-entry.ts', import.meta.url));
/** Name of the hit-path variant in the results. */
const HIT_VARIANT = 'vend: import + first vend (store hit)';
/** Name of the reference variant in the results. */
export const EAGER_VARIANT = 'reference: both SDK clients eager, import + first vend';

/**
 * The reference bundle: the construct's esbuild settings (minified ESM for Node 24, module-first main
 * fields, the require banner, SDK bundled) applied to {@link EAGER_ENTRY}. Only this reference is built
 * by hand; the measured bundles come from the synthesized stack.
 */
async function buildEagerReference(
  outdir: string,
): Promise<{ file: string; bytes: number; gzipBytes: number }> {
  const file = join(outdir, 'index.mjs');
  await build({
    entryPoints: [EAGER_ENTRY],
    outfile: file,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return { file, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file), { level: 9 }).length };
}
const CLIENT = 'cold-start-client';
/** Bare node, printing its own CPU time as the probe does. */
const BARE_ARGS = [
  '-e',
  'const c = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000 }) + "\\n")',
];
/** The issue's target: the hit path's cold start at most this share of the reference's, over bare node. */
export const COLD_START_RATIO_TARGET = 0.6;

/** Options of {@link runColdStart}. */
export interface ColdStartOptions {
  /** Fresh processes per variant. @default 15 */
  readonly runs?: number;
  readonly log?: (line: string) => void;
}

/** One variant, measured over fresh processes. */
export interface ProbeSeries {
  readonly variant: string;
  /** Process wall time, spawn to exit, ms. */
  readonly wall: Summary;
  /** Import time measured inside the process (performance.now around `import()`), ms. */
  readonly importInside: Summary;
  /** First vend inside the process, ms (vend variants only). */
  readonly vendInside?: Summary;
  /** CPU time of the process, ms. */
  readonly cpu: Summary;
  readonly failures: number;
}

export interface ColdStartResult {
  readonly runs: number;
  readonly synthMs: number;
  readonly bundles: readonly Omit<LambdaBundle, 'dir' | 'entryFile' | 'environment'>[];
  readonly reference: { readonly bytes: number; readonly gzipBytes: number };
  readonly nodeOptions: string;
  readonly bare: ProbeSeries;
  readonly series: readonly ProbeSeries[];
  /** Per round: the hit path over bare node ÷ the reference over bare node, by wall and by CPU time. */
  readonly hitToReference: { readonly wall: Summary; readonly cpu: Summary };
  /** Bytes of the vend function's files a cold start loads: its entry and the chunks it imports statically. */
  readonly startUpBytes: number;
}

/** The entry file and every chunk it imports statically (split bundles), in bytes. */
function startUpBytes(entryFile: string): number {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const match of code.matchAll(/(?:from|import)\s*"\.\/([^"]+\.mjs)"/g))
      visit(join(dirname(file), match[1] as string));
  };
  visit(entryFile);
  return [...seen].reduce((sum, file) => sum + statSync(file).size, 0);
}

interface ProbeOutput {
  readonly wallMs: number;
  /** CPU time of the whole process (user + system). */
  readonly cpuMs?: number;
  readonly importMs?: number;
  readonly vendMs?: number;
  readonly statusCode?: number;
  readonly ok: boolean;
}

const runProcess = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<ProbeOutput> =>
  new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = nowMs() - started;
      const line = out.split('\n').find((l) => l.startsWith('PROBE '));
      if (args[0] === '-e') {
        const cpu = /"cpuMs":([0-9.]+)/.exec(out);
        resolve({ wallMs, ok: code === 0, ...(cpu ? { cpuMs: Number(cpu[1]) } : {}) });
        return;
      }
      if (!line) {
        resolve({ wallMs, ok: false });
        if (err) process.stderr.write(`cold start probe failed: ${err.slice(0, 500)}\n`);
        return;
      }
      const parsed = JSON.parse(line.slice('PROBE '.length)) as Omit<ProbeOutput, 'wallMs' | 'ok'>;
      resolve({ wallMs, ...parsed, ok: code === 0 && (args[1] !== 'vend' || parsed.statusCode === 200) });
    });
  });

/** Builds the bundles, seeds a token on a loopback dynalite and runs the fresh-process probes. */
export async function runColdStart(options: ColdStartOptions = {}): Promise<ColdStartResult> {
  const runs = options.runs ?? 15;
  const log = options.log ?? (() => {});
  const synthesized = synthesizeBundles();
  const referenceDir = mkdtempSync(join(tmpdir(), 'mtv-bench-eager-'));
  const dynamo = await startDynalite();
  try {
    const reference = await buildEagerReference(referenceDir);
    const vend = synthesized.bundles.find((b) => b.name === 'Vend');
    const refresh = synthesized.bundles.find((b) => b.name === 'Refresh');
    if (!vend || !refresh) throw new Error('vend and refresh bundles expected');
    const tableName = await createTestTable(dynamo.client);
    // A valid token in the store: the fresh process's first vend is a store hit, no lease, no secret.
    const store = new DynamoTokenStore({ client: dynamo.client, tableName });
    const now = Date.now();
    await store.acquireLease(CLIENT, undefined, { owner: 'bench', leaseUntil: now + 10_000 }, 0);
    await store.completeLease(
      CLIENT,
      'bench',
      {
        token: {
          accessToken: `cold-start-token-${now}:ab`,
          tokenType: 'bearer',
          scope: 'bench@example.com',
          expiresAt: now + 3_600_000,
          obtainedAt: now,
        },
      },
      Math.floor(now / 1000) + 7_200,
    );
    // The function's own environment (from the template), its references replaced by loopback values.
    // Secrets Manager points at a closed loopback port: the hit path must never need it.
    const envFor = (bundle: LambdaBundle, withNodeOptions: boolean): NodeJS.ProcessEnv => {
      const { NODE_OPTIONS, ...rest } = bundle.environment;
      return {
        PATH: process.env.PATH,
        ...rest,
        ...(withNodeOptions && NODE_OPTIONS ? { NODE_OPTIONS } : {}),
        TABLE_NAME: tableName,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
    };
    const variants: ReadonlyArray<{ name: string; args: string[]; env: NodeJS.ProcessEnv }> = [
      { name: 'vend: import', args: [PROBE, vend.entryFile, 'import'], env: envFor(vend, true) },
      {
        name: HIT_VARIANT,
        args: [PROBE, vend.entryFile, 'vend', CLIENT],
        env: envFor(vend, true),
      },
      {
        name: 'vend: import + first vend, with --enable-source-maps (the construct set it before)',
        args: [PROBE, vend.entryFile, 'vend', CLIENT],
        env: { ...envFor(vend, true), NODE_OPTIONS: '--enable-source-maps' },
      },
      { name: 'refresh: import', args: [PROBE, refresh.entryFile, 'import'], env: envFor(refresh, true) },
      { name: EAGER_VARIANT, args: [PROBE, reference.file, 'vend', CLIENT], env: envFor(vend, true) },
    ];
    const bareRuns: ProbeOutput[] = [];
    const samples = new Map<string, ProbeOutput[]>(variants.map((v) => [v.name, []]));
    // One warm-up of each (file system cache), then interleaved rounds so drift hits every variant alike.
    await runProcess(BARE_ARGS, { PATH: process.env.PATH });
    for (const v of variants) await runProcess(v.args, v.env);
    for (let round = 0; round < runs; round += 1) {
      bareRuns.push(await runProcess(BARE_ARGS, { PATH: process.env.PATH }));
      for (const v of variants) samples.get(v.name)?.push(await runProcess(v.args, v.env));
    }
    const toSeries = (variant: string, outputs: readonly ProbeOutput[]): ProbeSeries => {
      const ok = outputs.filter((o) => o.ok);
      const vendTimes = ok.flatMap((o) => (o.vendMs === undefined ? [] : [o.vendMs]));
      return {
        variant,
        wall: summarize(ok.map((o) => o.wallMs)),
        importInside: summarize(ok.flatMap((o) => (o.importMs === undefined ? [] : [o.importMs]))),
        cpu: summarize(ok.flatMap((o) => (o.cpuMs === undefined ? [] : [o.cpuMs]))),
        ...(vendTimes.length > 0 ? { vendInside: summarize(vendTimes) } : {}),
        failures: outputs.length - ok.length,
      };
    };
    const bare = toSeries('bare node -e 0', bareRuns);
    const series = variants.map((v) => toSeries(v.name, samples.get(v.name) ?? []));
    // The hit path against the reference, round by round (each round ran both, one after the other).
    const hitRuns = samples.get(HIT_VARIANT) ?? [];
    const referenceRuns = samples.get(EAGER_VARIANT) ?? [];
    const ratios = (of: (o: ProbeOutput) => number | undefined): number[] =>
      bareRuns.flatMap((b, i) => {
        const [hit, ref, base] = [hitRuns[i], referenceRuns[i], b].map((o) => (o?.ok ? of(o) : undefined));
        return hit === undefined || ref === undefined || base === undefined
          ? []
          : [(hit - base) / (ref - base)];
      });
    for (const s of series)
      log(
        `  cold start ${s.variant}: wall p50 ${fmt(s.wall.p50)} ms (bare ${fmt(bare.wall.p50)} ms), ` +
          `import inside p50 ${fmt(s.importInside.p50)} ms${s.failures > 0 ? `, ${s.failures} failed` : ''}`,
      );
    return {
      runs,
      synthMs: synthesized.synthMs,
      bundles: synthesized.bundles.map(({ name, bytes, gzipBytes, mapBytes }) => ({
        name,
        bytes,
        gzipBytes,
        mapBytes,
      })),
      reference: { bytes: reference.bytes, gzipBytes: reference.gzipBytes },
      nodeOptions: vend.environment.NODE_OPTIONS ?? '',
      bare,
      series,
      hitToReference: { wall: summarize(ratios((o) => o.wallMs)), cpu: summarize(ratios((o) => o.cpuMs)) },
      startUpBytes: startUpBytes(vend.entryFile),
    };
  } finally {
    await dynamo.stop();
    synthesized.dispose();
    rmSync(referenceDir, { recursive: true, force: true });
  }
}

const kb = (bytes: number): string => `${bytes.toLocaleString('en-US')} B (${fmt(bytes / 1024)} KiB)`;

/** The scenario for `npm run bench`. */
export const coldStartScenario: Scenario = {
  id: 'coldstart',
  title: '4. Cold start proxy',
  async run({ quick, log }): Promise<ScenarioReport> {
    const started = nowMs();
    const r = await runColdStart(quick ? { runs: 5, log } : { log });
    const over = (s: ProbeSeries): number => s.wall.p50 - r.bare.wall.p50;
    const spreadOver = (s: ProbeSeries): string =>
      `${fmt(over(s))} ms [${fmt(s.wall.min - r.bare.wall.p50)}–${fmt(s.wall.max - r.bare.wall.p50)}]`;
    const hit = r.series.find((s) => s.variant.startsWith('vend: import + first vend (store hit)'));
    const hitOver = hit ? over(hit) : Number.NaN;
    const withMaps = r.series.find((s) => s.variant.includes('with --enable-source-maps'));
    const eager = r.series.find((s) => s.variant === EAGER_VARIANT);
    const ratio = r.hitToReference;
    const ratioMet = ratio.wall.p50 <= COLD_START_RATIO_TARGET;
    const targets: TargetCheck[] = [
      {
        target:
          `vend hit path (fresh node: import + first vend from the store) ≤ ${COLD_START_RATIO_TARGET}× the reference ` +
          '(both SDK clients eager), over bare node, in the same run',
        measured:
          `${fmt(ratio.wall.p50)}× by wall time, per round [${fmt(ratio.wall.min)}–${fmt(ratio.wall.max)}] ` +
          `(${fmt(hitOver)} ms vs ${eager ? fmt(over(eager)) : 'n/a'} ms); ${fmt(ratio.cpu.p50)}× by CPU time ` +
          `[${fmt(ratio.cpu.min)}–${fmt(ratio.cpu.max)}]`,
        met: ratioMet,
        ...(ratioMet
          ? {}
          : {
              note:
                'the ratio moves with the machine’s load (the per-round spread shows by how much); re-measure on an ' +
                'idle machine. What is left of the hit path: Node loading its built-ins (node:crypto for the audit ' +
                'line’s fingerprint and the signer, node:https), Powertools and middy, the core, and the first signed request',
            }),
      },
    ];
    const violations = r.series
      .filter((s) => s.failures > 0)
      .map((s) => `cold start: ${s.failures} of ${r.runs} probes of "${s.variant}" failed`);
    const cpuOver = (x: ProbeSeries): number => x.cpu.p50 - r.bare.cpu.p50;
    const markdown = [
      'The deployable stack is synthesized in process with the cdk.json context (as `cdk synth` does), so ' +
        'each function’s code is built as the construct builds it, with the local esbuild; the synthesis took ' +
        `${fmt(r.synthMs / 1000)} s. The vend function is code-split (lib/split-bundle.ts): its entry \`index.mjs\` ` +
        `and the chunks it imports statically, ${kb(r.startUpBytes)}, are what a cold start loads; the SDK’s ` +
        'clients sit in chunks loaded on first use. Sizes are of the staged `index.mjs` (gzip level 9 approximates ' +
        'the deployment zip; the source map ships beside it).',
      '',
      '| Function | Entry file | gzip | Source map |',
      '|---|---:|---:|---:|',
      ...r.bundles.map((b) => `| ${b.name} | ${kb(b.bytes)} | ${kb(b.gzipBytes)} | ${kb(b.mapBytes)} |`),
      `| Reference: vend with both SDK clients eager | ${kb(r.reference.bytes)} | ${kb(r.reference.gzipBytes)} | |`,
      '',
      'The reference is the issue’s yardstick: the same handler with the DynamoDB and Secrets Manager clients ' +
        'constructed at import (bench/scenarios/cold-start-eager-entry.ts), one file built with the functions’ ' +
        'esbuild settings by the benchmark itself (its first vend now takes the signed read too, so it only pays ' +
        'for loading the SDK: a conservative yardstick).',
      '',
      'Where the vend function’s cold start went (node --cpu-prof of the hit path, this machine): the SDK’s ' +
        'DynamoDB client, `@smithy/core` and the credential providers were most of the 459 KB single file, and a ' +
        'single ESM file hoists the Node built-ins of every module in it (`node:zlib`, `node:child_process`, ' +
        '`node:fs/promises`, `node:stream/web`, …) to its top, where every cold start loads them, even for modules ' +
        'evaluated only on a miss; the first request through the SDK’s client (client set-up, credential chain, ' +
        'endpoint rules, serde) was most of the first vend; and `functions/contract/quota-day.ts` built its ' +
        '`Intl.DateTimeFormat` for America/Chicago at import (about 25 ms of ICU time-zone data, only the budget ' +
        'needs it). What changed: (1) the hit path’s one read is a GetItem signed by `aws4` (the signer ' +
        '`@aws-lite/client` is built on) over `node:https` (functions/adapters/signed-get-item.ts, the vend path’s ' +
        'timeouts and one retry); the SDK’s client loads on the first write (the lease, a token), ' +
        'where its conditional writes and retries are needed, and the budget table’s client on the first permit ' +
        'request; (2) the vend function is code-split, so the SDK’s code and built-ins stay out of the start-up ' +
        'files; (3) the time-zone formatter is built on first use. Measured to choose the signer, in fresh `node` ' +
        'processes, each one file built with the functions’ esbuild settings doing import plus one GetItem against ' +
        'dynalite, CPU time over bare node (median of 11, this machine, 2026-12-07): the SDK’s DynamoDB client ' +
        '116 ms (331 KB bundled), `aws4fetch` 102 ms (Node’s `fetch` loads undici on first use), ' +
        '`@aws-lite/client` 60 ms (raw request, 119 KB, no request timeout, engines Node ≥ 22), ' +
        '`@smithy/signature-v4` with `node:https` 55 ms (21 KB; in the code-split bundle it also pulled shared ' +
        'chunks of `@smithy/core` into the start-up files), `aws4` with `node:https` 39 ms (10 KB).',
      '',
      `Then ${r.runs} rounds, each starting fresh \`node\` processes one after another (bare \`node\` and ` +
        'every variant, interleaved, after one warm-up of each): the probe imports the staged entry and, for ' +
        'the vend variants, calls its `handler` once with an API Gateway `GET /tokens/{clientId}` event. A fresh ' +
        'process has an empty memory, so its first vend is the cold Lambda’s hit path: one DynamoDB GetItem ' +
        '(dynalite on loopback, a token pre-seeded), no lease, no Secrets Manager (its endpoint is a closed ' +
        'loopback port), no Identity. The process runs with the function’s own environment from the template ' +
        `(including \`NODE_OPTIONS=${r.nodeOptions}\`), with the table name and endpoints pointing at loopback. ` +
        '“Over bare node” is the median wall time (spawn to exit) minus the median of bare `node` ' +
        `(${fmt(r.bare.wall.p50)} ms, range ${fmt(r.bare.wall.min)}–${fmt(r.bare.wall.max)} ms); the bracket is the ` +
        'fastest and slowest run minus the same median. “Inside” is measured in the probe with `performance.now()`; ' +
        '“CPU” is the process’s own CPU time, which another process’s load changes much less than wall time.',
      '',
      '| Variant | Over bare node: median [min–max] | Wall p50 | CPU over bare node, p50 | Import, inside: p50 (p95) | First vend, inside: p50 (p95) | Failed |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...r.series.map(
        (s) =>
          `| ${s.variant} | ${spreadOver(s)} | ${fmt(s.wall.p50)} ms | ${fmt(cpuOver(s))} ms | ${fmt(s.importInside.p50)} ms (${fmt(s.importInside.p95)}) | ` +
          `${s.vendInside ? `${fmt(s.vendInside.p50)} ms (${fmt(s.vendInside.p95)})` : '–'} | ${s.failures} |`,
      ),
      '',
      ...(eager && hit
        ? [
            `**The hit path against the reference, in this run:** ${fmt(over(hit))} ms against ${fmt(over(eager))} ms ` +
              `over bare node; round by round ${fmt(ratio.wall.p50)}× by wall time [${fmt(ratio.wall.min)}–` +
              `${fmt(ratio.wall.max)}] and ${fmt(ratio.cpu.p50)}× by CPU time [${fmt(ratio.cpu.min)}–${fmt(ratio.cpu.max)}] ` +
              `(target ≤ ${COLD_START_RATIO_TARGET}×)` +
              (withMaps ? `; with the source-maps flag ${fmt(over(withMaps))} ms.` : '.'),
            '',
          ]
        : []),
      '![Cold start over bare node](benchmarks/coldstart.svg)',
    ].join('\n');
    const chart = barChartSvg({
      title: 'Fresh node process: ms over bare `node -e 0` (median)',
      categories: r.series.map((s) =>
        s.variant
          .replace('import + first vend (store hit)', 'import + vend')
          .replace(
            'import + first vend, with --enable-source-maps (the construct set it before)',
            'with source maps',
          )
          .replace(EAGER_VARIANT, 'eager SDK (ref.)'),
      ),
      series: [{ name: 'median over bare node', color: '#2b6cb0', values: r.series.map((s) => over(s)) }],
      yLabel: 'ms',
      references: eager
        ? [
            {
              value: over(eager) * COLD_START_RATIO_TARGET,
              label: `${COLD_START_RATIO_TARGET}× the reference`,
            },
          ]
        : [],
      label: (v) => fmt(v),
    });
    return {
      id: this.id,
      title: this.title,
      markdown,
      console: [
        ...r.bundles.map(
          (b) =>
            `coldstart ${b.name}: ${b.bytes.toLocaleString('en-US')} B, gzip ${b.gzipBytes.toLocaleString('en-US')} B`,
        ),
        `coldstart bare node -e 0: p50 ${fmt(r.bare.wall.p50)} ms`,
        ...r.series.map(
          (s) =>
            `coldstart ${s.variant}: ${spreadOver(s)} over bare; import inside p50 ${fmt(s.importInside.p50)} ms` +
            (s.vendInside ? `, first vend inside p50 ${fmt(s.vendInside.p50)} ms` : ''),
        ),
      ],
      targets,
      violations,
      charts: [{ file: 'coldstart.svg', alt: 'Cold start over bare node', svg: chart }],
      durationMs: nowMs() - started,
    };
  },
};
