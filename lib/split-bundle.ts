import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * esbuild's options for the functions, written once: minified ESM for Node 24, module-first main fields, the
 * AWS SDK bundled (it pins the exact version the tests ran against, where the runtime's copy changes under us,
 * and esbuild drops what is not imported), source maps beside the code (not enabled: `--enable-source-maps`
 * costs cold-start time), and a `require` for CommonJS dependencies that call it for Node built-ins.
 */
export const FUNCTION_BUNDLE = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
} as const;

/** The part of esbuild's API the split bundle uses (esbuild is a peer dependency, as for NodejsFunction). */
interface Esbuild {
  buildSync(options: Record<string, unknown>): {
    errors: unknown[];
    metafile?: {
      outputs: Record<
        string,
        { imports: Array<{ path: string; kind: string }>; inputs: Record<string, unknown> }
      >;
    };
  };
}

/** The esbuild metafile's outputs: per file, what it imports and which source files it holds. */
export type SplitBundleOutputs = NonNullable<ReturnType<Esbuild['buildSync']>['metafile']>['outputs'];

/**
 * Builds `entry` into `outputDir` as code-split ESM (`index.mjs` and its chunks) with the functions' options,
 * using the installed esbuild; returns esbuild's account of the outputs.
 */
export function buildSplitBundle(entry: string, outputDir: string): SplitBundleOutputs {
  const esbuild = createRequire(import.meta.url)('esbuild') as Esbuild;
  const result = esbuild.buildSync({
    entryPoints: { index: entry },
    outdir: outputDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: FUNCTION_BUNDLE.target,
    minify: FUNCTION_BUNDLE.minify,
    sourcemap: FUNCTION_BUNDLE.sourceMap,
    sourcesContent: FUNCTION_BUNDLE.sourcesContent,
    mainFields: [...FUNCTION_BUNDLE.mainFields],
    banner: { js: FUNCTION_BUNDLE.banner },
    metafile: true,
    logLevel: 'error',
  });
  if (result.errors.length > 0 || !result.metafile) throw new Error(`bundling ${entry} failed`);
  return result.metafile.outputs;
}

/**
 * A function's code as ESM with code splitting: the entry file (`index.mjs`) holds only what its start-up
 * needs, and every module it imports dynamically (the SDK's DynamoDB and Secrets Manager clients, the
 * budget's store) lands in chunk files that load on first use. A single file (what `NodejsFunction`'s own
 * bundling writes) carries those modules' code and hoists their Node built-in imports (`node:zlib`,
 * `node:child_process`, …) to the top, which every cold start then parses and loads: measured, the vend
 * function's import took about twice as long (docs/benchmarks.md §4). Built locally with the installed
 * esbuild at synth time, like `NodejsFunction`; never in Docker.
 */
export function splitBundleCode(entry: string): lambda.Code {
  return lambda.Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; local bundling always succeeds or throws, so no image is ever pulled.
      image: DockerImage.fromRegistry('no-docker-bundling'),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSplitBundle(entry, outputDir);
          return true;
        },
      },
    },
  });
}
