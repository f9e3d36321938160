import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pgAvailable } from "../support/pg";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs `npm run soak` (its script, as a child process) and returns its exit code, output and summary. */
async function soak(args: string[]): Promise<{ code: number | null; output: string; summary: any }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "soak-test-"));
  const summaryFile = path.join(dir, "summary.json");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/soak/main.ts",
      ...args,
      "--dir",
      path.join(dir, "run"),
      "--summary",
      summaryFile,
      "--cleanup",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const summary = fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, "utf8")) : undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  return { code, output, summary };
}

/** Outcomes only (never times): every check passed, faults were injected and survived, nothing is left unanswered. */
function expectSurvived(r: Awaited<ReturnType<typeof soak>>, kinds: string[]) {
  expect(r.summary, r.output).to.not.equal(undefined);
  for (const c of r.summary.checks)
    expect(c.ok, `${c.name}: ${c.detail}\n${(c.examples ?? []).join("\n")}\n${r.output}`).to.equal(true);
  expect(r.code, r.output).to.equal(0);
  expect(r.summary.ok).to.equal(true);
  expect(r.summary.checks.map((c: any) => c.name)).to.include.members([
    "acknowledged requests present exactly once",
    "no duplicate or missing anchors",
    "every saved receipt still verifies",
    "every escrow decided on chain is applied in the ledger",
    "custody audit passes",
    "the stack recovered from every fault",
    "the stack never exited by itself",
  ]);
  const faults = r.summary.faults;
  expect(faults.all.injected, r.output).to.be.at.least(kinds.length);
  expect(faults.all.survived).to.equal(faults.all.injected);
  // Each kind asked for was injected (the order goes through every kind before repeating one).
  expect(faults.list.map((f: any) => f.kind)).to.include.members(kinds);
  for (const f of faults.list) {
    expect(kinds).to.include(f.kind);
    // The node's anvil child outlived it, and the next start stopped it and took the port back.
    if (f.kind === "kill-node") expect(f.note).to.equal("orphaned anvil reclaimed");
  }
  const req = r.summary.requests;
  expect(req.unanswered).to.equal(0);
  for (const k of ["transfer", "batch", "escrow", "statement"]) expect(req.byKind[k], k).to.be.greaterThan(0);
  expect(req.acked).to.be.greaterThan(100);
  expect(r.summary.receiptsSaved).to.be.greaterThan(0);
}

describe("soak: 60 s of workload under injected faults (npm run soak)", function () {
  this.timeout(20 * 60_000);

  it("SQLite: kills of the stack, of the node alone and of the chain node, and a chain pause lose and duplicate nothing", async () => {
    const kinds = ["kill-stack", "kill-node", "kill-chain", "pause-chain"];
    const r = await soak([
      "--seconds",
      "60",
      "--backend",
      "sqlite",
      "--seed",
      "11",
      "--fault-interval",
      "8",
      "--min-faults",
      String(kinds.length),
      "--faults",
      kinds.join(","),
    ]);
    expectSurvived(r, kinds);
  });

  it("PostgreSQL: kills and terminated database sessions lose and duplicate nothing", async function () {
    if (!(await pgAvailable())) return this.skip();
    const kinds = ["kill-node", "drop-pg", "kill-stack"];
    const r = await soak([
      "--seconds",
      "60",
      "--backend",
      "postgres",
      "--seed",
      "12",
      "--fault-interval",
      "8",
      "--min-faults",
      String(kinds.length),
      "--faults",
      kinds.join(","),
    ]);
    expectSurvived(r, kinds);
  });
});
