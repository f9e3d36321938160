import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { bundleBrowserPage } from "./bundle";
import { buildOperatorPage } from "./operator/build";
import { writeStandalonePage } from "./standalone";

/** Where `buildWeb` writes the page (git-ignored). The API serves this folder at `/`. */
export const WEB_DIST_DIR = path.join(__dirname, "dist");

/**
 * Bundles the receipt checker (web/src) with esbuild into web/dist: index.html, style.css and one
 * self-contained app.js (viem, zod and the project's verifier inlined; no CDN), and the same page as
 * one file, receipt-checker.html, for use opened from disk. Resolves to the dist directory.
 *
 * @example
 * const dist = await buildWeb();
 * app.use(express.static(dist));
 */
export async function buildWeb(outDir: string = WEB_DIST_DIR): Promise<string> {
  const src = path.join(__dirname, "src");
  await mkdir(outDir, { recursive: true });
  await bundleBrowserPage(path.join(src, "main.ts"), path.join(outDir, "app.js"));
  await Promise.all([
    copyFile(path.join(src, "index.html"), path.join(outDir, "index.html")),
    copyFile(path.join(src, "style.css"), path.join(outDir, "style.css")),
  ]);
  await writeStandalonePage(outDir);
  // The operator console, served at /operator/.
  await buildOperatorPage(path.join(outDir, "operator"));
  return outDir;
}

if (require.main === module) {
  buildWeb().then(
    (dir) => process.stdout.write(`receipt checker built in ${dir}\n`),
    (err) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
