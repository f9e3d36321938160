import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { bundleBrowserPage } from "../bundle";

/**
 * Bundles the operator console (web/operator) into `outDir`: index.html, operator.css and one
 * self-contained app.js. The page links `../style.css`, the receipt page's stylesheet, so it is
 * served one level below it (at `/operator/`).
 */
export async function buildOperatorPage(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await bundleBrowserPage(path.join(__dirname, "main.ts"), path.join(outDir, "app.js"));
  await Promise.all(
    ["index.html", "operator.css"].map((f) => copyFile(path.join(__dirname, f), path.join(outDir, f))),
  );
  return outDir;
}
