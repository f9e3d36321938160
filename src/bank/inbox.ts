import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CustodianBank, ImportResult } from "./bank";
import type { Logger } from "../logging";

/**
 * A watched inbox folder for the embedded stack: every regular file dropped into `dir` is
 * imported; then moved to `dir/processed/` (stored or replayed) or `dir/rejected/` with a
 * `<name>.error.txt` saying why. A file is moved only after its import finished, so a crash leaves
 * it in the inbox and the next scan imports it again (imports are idempotent).
 * Drop files by writing elsewhere and renaming into `dir`, so a half-written file is never read.
 */
export interface StatementInbox {
  /** One pass over the folder; returns what it did (also used by tests). */
  scan(): Promise<{ file: string; result?: ImportResult; error?: string }[]>;
  stop(): Promise<void>;
}

export function watchStatementInbox(
  bank: Pick<CustodianBank, "importStatement">,
  dir: string,
  opts: { intervalMs?: number; log?: Logger } = {},
): StatementInbox {
  for (const d of [dir, join(dir, "processed"), join(dir, "rejected")]) mkdirSync(d, { recursive: true });
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const scanOnce = async () => {
    const out: { file: string; result?: ImportResult; error?: string }[] = [];
    const files = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
    for (const name of files) {
      const src = join(dir, name);
      try {
        const result = await bank.importStatement(readFileSync(src));
        renameSync(src, join(dir, "processed", name));
        opts.log?.info(
          { file: name, documentHash: result.documentHash, replay: result.replay },
          "statement imported",
        );
        out.push({ file: name, result });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        // Only the bank's own mistakes are set aside; an outage (database down) retries next scan.
        if (e instanceof Error && "code" in e && typeof (e as { code: unknown }).code === "string") {
          renameSync(src, join(dir, "rejected", name));
          writeFileSync(join(dir, "rejected", `${name}.error.txt`), `${error}\n`);
        }
        opts.log?.warn({ file: name, error: error.split("\n")[0] }, "statement rejected");
        out.push({ file: name, error });
      }
    }
    return out;
  };
  const scan = async () => {
    while (running) await running.catch(() => {});
    const p = scanOnce();
    running = p.finally(() => (running = undefined));
    return p;
  };
  const timer = setInterval(() => {
    if (!stopped && !running) void scan().catch(() => {});
  }, opts.intervalMs ?? 2000);
  timer.unref();
  return {
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running.catch(() => {});
    },
  };
}
