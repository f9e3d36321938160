import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/net";
import { anvilBinaryPath, reclaimAnvil, startAnvil, type AnvilPidRecord } from "../../src/chain/anvil";

const FIXTURE = path.join(__dirname, "fixtures", "run-anvil.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function chainId(rpcUrl: string): Promise<number> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
  });
  return Number(((await res.json()) as { result: string }).result);
}

describe("chain: the stack owns its anvil child", function () {
  let dir: string;
  const strays: number[] = [];
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "anvil-orphan-"))));
  after(() => {
    for (const pid of strays) if (alive(pid)) process.kill(pid, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a node orphaned by a kill -9 of its parent is stopped at the next start, which gets the port", async () => {
    const pidFile = path.join(dir, "anvil.pid.json");
    const port = await freePort();
    const parent = spawn(process.execPath, ["-r", "tsx/cjs", FIXTURE], {
      env: { ...process.env, ANVIL_PID_FILE: pidFile, ANVIL_PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const started = await new Promise<{ rpcUrl: string; pid: number }>((resolve, reject) => {
      let out = "";
      parent.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!));
      });
      parent.once("exit", (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    strays.push(started.pid);
    const rec = JSON.parse(fs.readFileSync(pidFile, "utf8")) as AnvilPidRecord;
    expect(rec).to.include({ format: "custody-anvil-pid-v1", pid: started.pid, port });
    expect(fs.statSync(pidFile).mode & 0o777).to.equal(0o600);

    parent.kill("SIGKILL");
    await new Promise((r) => parent.once("exit", r));
    await sleep(200);
    // The orphan lives on and holds the port: this is what used to block the next start.
    expect(alive(started.pid), "the orphan survived its parent").to.equal(true);
    expect(await chainId(started.rpcUrl)).to.equal(31337);

    const node = await startAnvil({ port, pidFile });
    try {
      expect(alive(started.pid), "the orphan was stopped").to.equal(false);
      expect(node.pid).to.not.equal(started.pid);
      expect(node.rpcUrl).to.equal(started.rpcUrl);
      expect(await chainId(node.rpcUrl)).to.equal(31337);
      expect((JSON.parse(fs.readFileSync(pidFile, "utf8")) as AnvilPidRecord).pid).to.equal(node.pid);
    } finally {
      await node.stop();
    }
    expect(fs.existsSync(pidFile), "a clean stop removes the record").to.equal(false);
  });

  it("never touches a process it did not start, even one the record's pid now names", async () => {
    const port = await freePort();
    const foreign = spawn(anvilBinaryPath(), ["--host", "127.0.0.1", "--port", String(port)], {
      stdio: "ignore",
    });
    strays.push(foreign.pid!);
    for (let i = 0; i < 100; i++) {
      try {
        if ((await chainId(`http://127.0.0.1:${port}`)) === 31337) break;
      } catch {
        await sleep(100);
      }
    }
    const pidFile = path.join(dir, "foreign.pid.json");
    // Same pid, but another start time: the pid was reused by someone else's process.
    const cmdline = fs.readFileSync(`/proc/${foreign.pid}/cmdline`, "utf8");
    const rec: AnvilPidRecord = {
      format: "custody-anvil-pid-v1",
      pid: foreign.pid!,
      port,
      startTime: "1",
      cmdline,
    };
    fs.writeFileSync(pidFile, JSON.stringify(rec));
    expect(await reclaimAnvil(pidFile)).to.equal("not-ours");
    expect(alive(foreign.pid!)).to.equal(true);

    // A start on that port fails with a named error and leaves the foreign node alone.
    fs.writeFileSync(pidFile, JSON.stringify(rec));
    const err = await startAnvil({ port, pidFile, startTimeoutMs: 10_000 }).then(
      (n) => n.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).name).to.equal("NodeStartError");
    expect(alive(foreign.pid!)).to.equal(true);
    expect(await chainId(`http://127.0.0.1:${port}`)).to.equal(31337);
    foreign.kill("SIGKILL");
  });
});
