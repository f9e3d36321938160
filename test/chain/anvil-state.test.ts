import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NodeStartError } from "../../src/chain/errors";
import { lastGoodStatePath, startAnvil } from "../../src/chain/anvil";

async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<string> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await res.json()) as { result: string }).result;
}

describe("chain: anvil's state file survives a crash in the middle of writing it", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "anvil-state-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a truncated state file is replaced by the copy kept at the previous start; the chain resumes from it", async () => {
    const statePath = path.join(dir, "state.json");
    let node = await startAnvil({ statePath });
    await rpc(node.rpcUrl, "anvil_mine", ["0x5"]);
    await node.stop(); // dumps 5 blocks
    node = await startAnvil({ statePath }); // keeps that file aside as the last good one
    expect(fs.existsSync(lastGoodStatePath(statePath))).to.equal(true);
    await rpc(node.rpcUrl, "anvil_mine", ["0x3"]);
    await node.stop(); // dumps 8 blocks
    // A kill -9 while anvil rewrites the file leaves it cut short; anvil alone then refuses to start.
    const full = fs.readFileSync(statePath, "utf8");
    fs.writeFileSync(statePath, full.slice(0, Math.floor(full.length / 2)));
    node = await startAnvil({ statePath });
    try {
      expect(Number(await rpc(node.rpcUrl, "eth_blockNumber"))).to.equal(5);
    } finally {
      await node.stop();
    }
    const broken = fs.readdirSync(dir).filter((f) => f.startsWith("state.json.broken-"));
    expect(broken).to.have.length(1);
  });

  it("a node killed while writing resumes from the copy taken while it ran, not from its start", async () => {
    const statePath = path.join(dir, "state.json");
    let node = await startAnvil({ statePath, stateIntervalSeconds: 1, stateBackupIntervalMs: 200 });
    await rpc(node.rpcUrl, "anvil_mine", ["0x7"]);
    const good = lastGoodStatePath(statePath);
    const copied = () => {
      try {
        return JSON.stringify(JSON.parse(fs.readFileSync(good, "utf8"))).includes('"number":"0x7"');
      } catch {
        return false;
      }
    };
    while (!copied()) await new Promise((r) => setTimeout(r, 100));
    process.kill(node.pid!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    const full = fs.readFileSync(statePath, "utf8");
    fs.writeFileSync(statePath, full.slice(0, Math.floor(full.length / 3)));
    node = await startAnvil({ statePath, stateBackupIntervalMs: 0 });
    try {
      expect(Number(await rpc(node.rpcUrl, "eth_blockNumber"))).to.equal(7);
    } finally {
      await node.stop();
    }
  });

  it("with no earlier copy, an unreadable state file stops the start with a named error", async () => {
    const statePath = path.join(dir, "state.json");
    fs.writeFileSync(statePath, '{"block":');
    let err: unknown;
    try {
      const node = await startAnvil({ statePath });
      await node.stop();
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(NodeStartError);
    expect((err as NodeStartError).message).to.contain("unreadable");
    expect(fs.existsSync(statePath)).to.equal(false);
  });
});
