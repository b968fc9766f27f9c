/**
 * The Lambda bundles exactly as the CDK stack builds them: the deployable stack is synthesized in process
 * (cdk.json context, the construct's own NodejsFunction bundling options, the local esbuild) into a
 * temporary cloud assembly, and each function's staged asset and environment are read back from it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { configFromContext } from '../../lib/config.js';
import { TokenVendorStack } from '../../lib/token-vendor-stack.js';

/** One function's bundle as staged in the cloud assembly. */
export interface LambdaBundle {
  /** `Vend` or `Refresh` (the construct's function id). */
  readonly name: string;
  /** The staged asset directory. */
  readonly dir: string;
  /** The bundle's entry file (`index.mjs`). */
  readonly entryFile: string;
  /** Size of the entry file, bytes. */
  readonly bytes: number;
  /** Size of the entry file gzipped (level 9), bytes: close to what the deployment zip holds. */
  readonly gzipBytes: number;
  /** Size of the source map beside it (shipped, read only when `--enable-source-maps` needs it). */
  readonly mapBytes: number;
  /** The function's environment variables whose values are plain strings (references dropped). */
  readonly environment: Readonly<Record<string, string>>;
}

/** The bundles of one synthesis; `dispose` removes the temporary assembly. */
export interface SynthesizedBundles {
  readonly bundles: readonly LambdaBundle[];
  readonly synthMs: number;
  dispose(): void;
}

type CfnResource = {
  Type: string;
  Properties: {
    Code?: { S3Key?: string };
    Handler?: string;
    Environment?: { Variables?: Record<string, unknown> };
  };
};

const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;

/** Synthesizes the deployable stack (as `cdk synth` would) and returns its functions' bundles. */
export function synthesizeBundles(functionIds: readonly string[] = ['Vend', 'Refresh']): SynthesizedBundles {
  const outdir = mkdtempSync(join(tmpdir(), 'mtv-bench-assembly-'));
  const previousDocker = process.env.CDK_DOCKER;
  // A fallback to Docker bundling must fail loudly: there is no engine here.
  process.env.CDK_DOCKER = 'false';
  const started = performance.now();
  try {
    const app = new App({ outdir, context: cdkJsonContext() });
    const config = configFromContext(app.node);
    const stack = new TokenVendorStack(app, config.stackName, config.stackProps);
    const assembly = app.synth();
    const synthMs = performance.now() - started;
    const resources = assembly.getStackByName(stack.stackName).template.Resources as Record<
      string,
      CfnResource
    >;
    const bundles = functionIds.map((id): LambdaBundle => {
      const entry = Object.entries(resources).find(
        ([logicalId, r]) => r.Type === 'AWS::Lambda::Function' && logicalId.includes(`${id}Function`),
      );
      if (!entry) throw new Error(`no ${id} function in the synthesized stack`);
      const hash = entry[1].Properties.Code?.S3Key?.replace(/\.zip$/, '');
      if (!hash) throw new Error(`the ${id} function has no file asset`);
      const dir = join(assembly.directory, `asset.${hash}`);
      const files = readdirSync(dir);
      const main = files.find((f) => /^index\.m?js$/.test(f));
      if (!main) throw new Error(`no index.mjs in ${dir} (found ${files.join(', ')})`);
      const entryFile = join(dir, main);
      const code = readFileSync(entryFile);
      const map = files.find((f) => f === `${main}.map`);
      const environment = Object.fromEntries(
        Object.entries(entry[1].Properties.Environment?.Variables ?? {}).filter(
          (kv): kv is [string, string] => typeof kv[1] === 'string',
        ),
      );
      return {
        name: id,
        dir,
        entryFile,
        bytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        mapBytes: map ? statSync(join(dir, map)).size : 0,
        environment,
      };
    });
    return {
      bundles,
      synthMs,
      dispose: () => rmSync(outdir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  } finally {
    if (previousDocker === undefined) delete process.env.CDK_DOCKER;
    else process.env.CDK_DOCKER = previousDocker;
  }
}
