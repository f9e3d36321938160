import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { WebBuildError } from "./errors";

/** The one-file receipt checker a user keeps and opens from disk (file://), away from the platform. */
export const STANDALONE_PAGE = "receipt-checker.html";

/**
 * Writes `<outDir>/receipt-checker.html`: the built index.html with style.css and app.js inlined, so
 * that the page needs no other file and works opened as file:// with only an RPC endpoint. Requires
 * index.html, style.css and app.js in outDir (what buildWeb writes).
 */
export async function writeStandalonePage(outDir: string): Promise<string> {
  const [html, css, js] = await Promise.all(
    ["index.html", "style.css", "app.js"].map((f) => readFile(path.join(outDir, f), "utf8")),
  );
  // "</script" or "</style" inside the inlined text would end the element early.
  const script = js.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n").replace(/<\/script/gi, "<\\/script");
  const style = css.replace(/<\/style/gi, "<\\/style");
  const linkTag = '<link rel="stylesheet" href="style.css" />';
  const scriptTag = '<script src="app.js"></script>';
  if (!html.includes(linkTag) || !html.includes(scriptTag))
    throw new WebBuildError(
      "index.html no longer links style.css and app.js as the standalone build expects",
    );
  const out = html
    .replace(linkTag, () => `<style>\n${style}</style>`)
    .replace(scriptTag, () => `<script>\n${script}</script>`);
  const file = path.join(outDir, STANDALONE_PAGE);
  await writeFile(file, out);
  return file;
}
