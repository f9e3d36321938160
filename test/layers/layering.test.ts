import { expect } from "chai";
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const CONFIG = path.join(ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = path.join(ROOT, "node_modules", ".bin", "depcruise");

/** Runs the layering check of `npm test` (same config) on a fixture tree. */
function cruise(fixture: string): { status: number | null; output: string } {
  const r = spawnSync(DEPCRUISE, ["--config", CONFIG, "--output-type", "err", "src"], {
    cwd: path.join(__dirname, "fixtures", fixture),
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("layers: the dependency-cruiser check of npm test", () => {
  it("fails on a deliberately wrong import and names the rule it breaks", () => {
    const r = cruise("wrong-import");
    expect(r.status, r.output).to.not.equal(0);
    expect(r.output).to.match(/error ledger-not-up: src\/ledger\/ledger\.ts → src\/api\/app\.ts/);
    expect(r.output).to.match(/1 dependency violations \(1 errors/);
  });

  it("passes the same tree without that import", () => {
    const r = cruise("clean");
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.match(/no dependency violations found/);
  });
});
