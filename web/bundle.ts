import { build } from "esbuild";

/**
 * Bundles one page's entry with esbuild into a single self-contained script for the browser
 * (dependencies inlined, no CDN; minified, with a source map and linked licence notes).
 */
export async function bundleBrowserPage(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
}
