import { expect } from "chai";
import { spawn } from "node:child_process";
import express from "express";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import type { ReceiptJson } from "../../src/verify";
import { startChainFixture, type ChainFixture } from "../verify/support/chain";

const BIN = path.join(__dirname, "..", "..", "bin", "custody");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/custody as a child process, as a user would. */
function custody(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("cli: custody verify / verify-hash (child process)", function () {
  let fx: ChainFixture;
  let tmp: string;
  let api: Server;
  let apiUrl: string;

  before(async () => {
    fx = await startChainFixture();
    tmp = await mkdtemp(path.join(os.tmpdir(), "custody-cli-"));
    const proofs = new Map<string, unknown>();
    for (let i = 0; i < fx.tree.entries.length; i++) {
      const { leafIndex, leafHash, anchor, inclusionProof } = fx.receipt(i, fx.headsA[1]);
      proofs.set(leafHash, { leafIndex, leafHash, anchor, inclusionProof });
    }
    const app = express();
    app.get("/v1/proofs/by-leaf-hash/:leafHash", (req, res) => {
      const p = proofs.get(req.params.leafHash);
      if (p) res.json(p);
      else res.status(404).json({ error: { code: "NOT_FOUND" } });
    });
    api = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  });

  after(async () => {
    await new Promise((r) => (api ? api.close(r) : r(undefined)));
    await fx?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function receiptFile(name: string, receipt: ReceiptJson | string): Promise<string> {
    const file = path.join(tmp, name);
    await writeFile(file, typeof receipt === "string" ? receipt : JSON.stringify(receipt, null, 2));
    return file;
  }

  it("prints help and exits 0; no command or an unknown one exits 2", async () => {
    for (const args of [["--help"], ["verify", "--help"], ["verify-hash", "--help"]]) {
      const r = await custody(args);
      expect(r.code, args.join(" ")).to.equal(0);
      expect(r.stdout).to.match(/^Usage: custody/);
    }
    expect((await custody([])).code).to.equal(2);
    expect((await custody(["frobnicate"])).code).to.equal(2);
  });

  it("exits 0 for a valid receipt and prints the verdict", async () => {
    const file = await receiptFile("valid.json", fx.receipt(7, fx.headsA[1]));
    const r = await custody(["verify", file, "--rpc", fx.rpcUrl, "--contract", fx.anchorA]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^VALID {4}receipt for entry #7 \(TRANSFER_POSTED, 10875 EUR minor units\)/);
    expect(r.stdout).to.include(`anchored in head #1 (tree size 11, root ${fx.headsA[1].rootHash})`);
    expect(r.stderr).to.equal("");
  });

  it("--json prints the full verdict; stdin is accepted with -", async () => {
    const r = await custody(
      ["verify", "-", "--rpc", fx.rpcUrl, "--contract", fx.anchorA, "--json"],
      JSON.stringify(fx.receipt(2, fx.headsA[0])),
    );
    expect(r.code, r.stderr).to.equal(0);
    const v = JSON.parse(r.stdout);
    expect(v.ok).to.equal(true);
    expect(v.checks).to.have.length(10);
    expect(v.anchoredHead.headIndex).to.equal(0);
  });

  it("exits 1 for a tampered receipt, a receipt of another contract and a malformed one", async () => {
    const tampered = fx.receipt(7, fx.headsA[1]);
    tampered.entry.amount = "1";
    const cases: [string, ReceiptJson | string, RegExp][] = [
      ["tampered.json", tampered, /reason: the entry hashes to .* the entry was altered/],
      [
        "other.json",
        fx.receipt(3, fx.headB),
        new RegExp(`anchored by contract ${fx.anchorB}, not by the expected`),
      ],
      ["garbage.json", "{ not json", /reason: receipt: is not valid JSON/],
    ];
    for (const [name, content, reason] of cases) {
      const r = await custody([
        "verify",
        await receiptFile(name, content),
        "--rpc",
        fx.rpcUrl,
        "--contract",
        fx.anchorA,
      ]);
      expect(r.code, name).to.equal(1);
      expect(r.stdout, name).to.match(/^INVALID/);
      expect(r.stdout, name).to.match(reason);
    }
  });

  it("exits 2 on usage and I/O errors (no verdict)", async () => {
    const file = await receiptFile("ok.json", fx.receipt(1, fx.headsA[1]));
    const down = `http://127.0.0.1:${await closedPort()}`;
    const cases: [string[], RegExp][] = [
      [["verify", file], /required option '--rpc <url>'/],
      [["verify", path.join(tmp, "missing.json"), "--rpc", fx.rpcUrl], /cannot read .*missing\.json: ENOENT/],
      [["verify", file, "--rpc", fx.rpcUrl, "--contract", "0x1234"], /--contract must be a contract address/],
      [["verify", file, "--rpc", "not a url"], /--rpc must be a URL/],
      [
        ["verify", file, "--rpc", down],
        /could not read the chain id from the chain[\s\S]*no verdict was reached/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await custody(args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr, args.join(" ")).to.match(message);
      expect(r.stdout).to.not.match(/VALID/);
    }
  });

  it("verify-hash: 0 for an anchored leaf, 1 for an unknown one, 2 for a bad hash or an unreachable API", async () => {
    const { leafHash } = fx.receipt(4, fx.headsA[1]);
    const ok = await custody([
      "verify-hash",
      leafHash,
      "--api",
      apiUrl,
      "--rpc",
      fx.rpcUrl,
      "--contract",
      fx.anchorA,
    ]);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(new RegExp(`^VALID {4}leaf ${leafHash} at index 4`));

    const unknown = await custody([
      "verify-hash",
      `0x${"cd".repeat(32)}`,
      "--api",
      apiUrl,
      "--rpc",
      fx.rpcUrl,
    ]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stdout).to.match(/no anchored leaf with hash/);

    const pinnedElsewhere = await custody([
      "verify-hash",
      leafHash,
      "--api",
      apiUrl,
      "--rpc",
      fx.rpcUrl,
      "--contract",
      fx.anchorB,
    ]);
    expect(pinnedElsewhere.code).to.equal(1);
    expect(pinnedElsewhere.stdout).to.match(/not by the expected contract/);

    const bad = await custody(["verify-hash", "0x1234", "--api", apiUrl, "--rpc", fx.rpcUrl]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/<leafHash>: a leaf hash is 32 bytes of 0x-hex/);

    const down = `http://127.0.0.1:${await closedPort()}`;
    const noApi = await custody(["verify-hash", leafHash, "--api", down, "--rpc", fx.rpcUrl]);
    expect(noApi.code).to.equal(2);
    expect(noApi.stderr).to.match(/could not reach/);
  });
});
