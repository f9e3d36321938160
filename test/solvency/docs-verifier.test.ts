import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import vectors from "../vectors/liabilities-tree-v1.json";

/** The outsider's verifier printed in docs/balance-proof-v1.md, run as written with python3. */
describe("docs/balance-proof-v1.md: the outsider's verifier agrees with the vectors", function () {
  const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "balance-proof-v1.md"), "utf8");
  const code = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
  let dir: string;

  before(function () {
    expect(code, "a python block in the doc").to.be.a("string");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-docs-verifier-"));
    fs.writeFileSync(path.join(dir, "verify.py"), code!);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (proof: unknown) => {
    const file = path.join(dir, "proof.json");
    fs.writeFileSync(file, JSON.stringify(proof));
    const r = spawnSync("python3", [path.join(dir, "verify.py"), file], { encoding: "utf8" });
    if (r.error) throw r.error;
    return r;
  };

  it("accepts every customer's proof", function () {
    for (const p of vectors.snapshot.proofs) {
      const r = run(p);
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.contain("ok   rootSum");
    }
  });

  it("rejects every forged proof at the check the vectors name", function () {
    for (const f of vectors.rejections) {
      const r = run(f.proof);
      expect(r.status, f.desc).to.equal(1);
      expect(r.stdout, f.desc).to.contain(`FAIL ${f.wantCheck}`);
    }
  });

  it("the worked example's numbers are the vector's", function () {
    const alice = vectors.snapshot.proofs[0]!;
    expect(doc).to.contain(alice.snapshot.rootSum);
    expect(doc).to.contain(alice.leaf.hash.slice(0, 10));
    expect(doc).to.contain(alice.snapshot.rootHash.slice(0, 10));
    expect(BigInt(alice.snapshot.rootSum)).to.equal(12_500n + (1n << 64n) - 1n + 100_000n);
  });
});
