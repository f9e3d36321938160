import { Worker } from "node:worker_threads";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { NodeStartError } from "./errors";

/** The well-known development mnemonic (anvil's and Hardhat's default). Never use it outside dev and tests. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Chain id of local development nodes. */
export const DEV_CHAIN_ID = 31337;

/** Dev account `index` of `mnemonic` (default {@link DEV_MNEMONIC}), funded by anvil at start. */
export function devAccount(index: number, mnemonic: string = DEV_MNEMONIC): HDAccount {
  return mnemonicToAccount(mnemonic, { addressIndex: index });
}

export interface StartAnvilParameters {
  /** TCP port on 127.0.0.1; 0 or omitted = pick a free one. */
  port?: number;
  /** Load the chain state from this file if it exists and dump it there on {@link AnvilNode.stop}. */
  statePath?: string;
  /** With `statePath`: also dump the state every this many seconds, so a crash loses at most that much. */
  stateIntervalSeconds?: number;
  /**
   * While the node runs, the state file is copied aside (as `<state>.last-good`) this often when
   * it parses, on a worker thread (default 5 000 ms; 0: only at start). A start after a kill that
   * tore the file then loses the blocks of the last few seconds, not every block since the last start.
   */
  stateBackupIntervalMs?: number;
  /** Seconds between blocks; omitted = mine each transaction at once. */
  blockTime?: number;
  chainId?: number;
  mnemonic?: string;
  /** How long to wait for the node to answer (ms). Default 30 000. */
  startTimeoutMs?: number;
  /**
   * Ownership record of the node (`custody-anvil-pid-v1`: pid, port, start time, command line).
   * At start, a node this file names that is still running with the same start time and command
   * line was started by us and left behind (its parent was killed): it is stopped (SIGINT, so it
   * dumps its state) before the new one starts. A process that does not match is never touched.
   */
  pidFile?: string;
}

/** What `pidFile` records about the node we started. */
export interface AnvilPidRecord {
  format: "custody-anvil-pid-v1";
  pid: number;
  port: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTime: string;
  /** The command line, NUL-separated as in /proc/<pid>/cmdline. */
  cmdline: string;
}

/** Start time and command line of a live process, or undefined if there is none (Linux /proc). */
function processIdentity(pid: number): { startTime: string; cmdline: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTime = fields[19]!;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return { startTime, cmdline };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Stops the node `pidFile` names if, and only if, it is the very process we started (same pid,
 * start time and command line); removes the record either way. Returns what was done.
 */
export async function reclaimAnvil(pidFile: string): Promise<"none" | "stopped" | "not-ours"> {
  let rec: AnvilPidRecord;
  try {
    rec = JSON.parse(fs.readFileSync(pidFile, "utf8")) as AnvilPidRecord;
  } catch {
    return "none";
  }
  const id = Number.isSafeInteger(rec.pid) && rec.pid > 1 ? processIdentity(rec.pid) : undefined;
  const ours =
    rec.format === "custody-anvil-pid-v1" && id?.startTime === rec.startTime && id.cmdline === rec.cmdline;
  if (ours) {
    process.kill(rec.pid, "SIGINT");
    for (let i = 0; i < 150 && alive(rec.pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(rec.pid)) process.kill(rec.pid, "SIGKILL");
    for (let i = 0; i < 50 && alive(rec.pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  fs.rmSync(pidFile, { force: true });
  return ours ? "stopped" : id ? "not-ours" : "none";
}

export interface AnvilNode {
  rpcUrl: string;
  chainId: number;
  /** Process id of the node. */
  pid?: number;
  /** Stops the node; with a state path, anvil writes the state file before exiting. */
  stop(): Promise<void>;
}

/** Path of the anvil binary shipped by @foundry-rs/anvil (override with CUSTODY_ANVIL_BIN). */
export function anvilBinaryPath(): string {
  const override = process.env.CUSTODY_ANVIL_BIN;
  if (override) return override;
  const os = process.platform === "win32" ? "win32" : process.platform;
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${os}-${arch}`;
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch (cause) {
    throw new NodeStartError(`anvil is not installed for ${os}-${arch}`, {
      details: `missing package ${pkg}`,
      cause,
    });
  }
  return path.join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

/** Where the last state file that parsed is kept (next to the state file). */
export function lastGoodStatePath(statePath: string): string {
  return `${statePath}.last-good`;
}

/**
 * anvil rewrites its state file in place: killed mid-write (kill -9, power loss) it leaves a
 * truncated file it then refuses to load. So at every start a state file that parses is copied
 * aside (atomically), and one that does not is replaced by that copy; the chain then resumes from
 * the newest copy (taken every `stateBackupIntervalMs` while the node ran, else at the previous
 * start), and the relayer re-sends what the chain lost (its transactions are recorded first). The
 * broken file is kept as `<state>.broken-<time>` for inspection.
 */
function keepLastGoodState(statePath: string): void {
  if (!fs.existsSync(statePath)) return;
  const good = lastGoodStatePath(statePath);
  let text = fs.readFileSync(statePath, "utf8");
  try {
    JSON.parse(text);
  } catch {
    const broken = `${statePath}.broken-${Date.now()}`;
    fs.renameSync(statePath, broken);
    if (!fs.existsSync(good))
      throw new NodeStartError(
        `the chain state file ${statePath} is unreadable and there is no earlier copy`,
        {
          details: `moved to ${broken}`,
        },
      );
    text = fs.readFileSync(good, "utf8");
    fs.writeFileSync(`${statePath}.tmp`, text, { mode: 0o600 });
    fs.renameSync(`${statePath}.tmp`, statePath);
    process.emitWarning(`chain state ${statePath} was unreadable (kept as ${broken}); resumed from ${good}`);
    return;
  }
  fs.writeFileSync(`${good}.tmp`, text, { mode: 0o600 });
  fs.renameSync(`${good}.tmp`, good);
}

/**
 * Copies a state file that parses to `<state>.last-good` (atomically), on its own thread: reading
 * and parsing tens of MiB would stall the caller's event loop. A copy still running when the next
 * is due skips that one. anvil rewrites the file in place, so a read during its write sees a
 * prefix, which does not parse, and is not copied.
 */
const BACKUP_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
parentPort.on("message", (m) => {
  if (m === "close") return parentPort.close();
  let saved = false;
  try {
    const text = fs.readFileSync(m.from, "utf8");
    JSON.parse(text);
    fs.writeFileSync(m.to + ".tmp", text, { mode: 0o600 });
    fs.renameSync(m.to + ".tmp", m.to);
    saved = true;
  } catch {}
  parentPort.postMessage({ saved });
});
`;

function startStateBackup(statePath: string, everyMs: number): () => void {
  const worker = new Worker(BACKUP_SOURCE, { eval: true });
  let busy = false;
  worker.on("message", () => (busy = false));
  worker.on("error", () => clearInterval(timer));
  worker.unref();
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    worker.postMessage({ from: statePath, to: lastGoodStatePath(statePath) });
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    worker.postMessage("close");
  };
}

/**
 * Starts anvil on 127.0.0.1 and resolves once it answers JSON-RPC.
 *
 * @example
 * const node = await startAnvil({ statePath: ".data/chain.json" });
 * // ... node.rpcUrl ...
 * await node.stop();
 */
export async function startAnvil(params: StartAnvilParameters = {}): Promise<AnvilNode> {
  const chainId = params.chainId ?? DEV_CHAIN_ID;
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(params.port ?? 0),
    "--chain-id",
    String(chainId),
    "--mnemonic",
    params.mnemonic ?? DEV_MNEMONIC,
  ];
  if (params.blockTime !== undefined) args.push("--block-time", String(params.blockTime));
  if (params.statePath) {
    fs.mkdirSync(path.dirname(path.resolve(params.statePath)), { recursive: true });
    args.push("--state", params.statePath);
    if (params.stateIntervalSeconds) args.push("--state-interval", String(params.stateIntervalSeconds));
  }
  if (params.pidFile) await reclaimAnvil(params.pidFile);
  if (params.statePath) keepLastGoodState(params.statePath);
  const child = spawn(anvilBinaryPath(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let output = "";
  const timeoutMs = params.startTimeoutMs ?? 30_000;

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NodeStartError(`anvil did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        // Keep only the tail: anvil prints its accounts and keys at start.
        output = (output + chunk.toString()).slice(-4000);
        const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("error", (cause) => {
        clearTimeout(timer);
        reject(new NodeStartError("cannot run anvil", { details: cause.message, cause }));
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new NodeStartError(`anvil exited with code ${code} before listening`, {
            details: lastLines(output),
          }),
        );
      });
    });
    const rpcUrl = `http://127.0.0.1:${port}`;
    await waitForRpc(rpcUrl, chainId, timeoutMs);
    const pidFile = params.pidFile;
    if (pidFile && child.pid !== undefined) {
      const id = processIdentity(child.pid);
      if (id) {
        const rec: AnvilPidRecord = { format: "custody-anvil-pid-v1", pid: child.pid, port, ...id };
        fs.mkdirSync(path.dirname(path.resolve(pidFile)), { recursive: true, mode: 0o700 });
        fs.writeFileSync(pidFile, JSON.stringify(rec) + "\n", { mode: 0o600 });
      }
    }
    const backupEvery = params.stateBackupIntervalMs ?? 5000;
    const stopBackup =
      params.statePath && backupEvery > 0 ? startStateBackup(params.statePath, backupEvery) : undefined;
    void exited.then(() => stopBackup?.());
    return {
      rpcUrl,
      chainId,
      pid: child.pid,
      stop: async () => {
        stopBackup?.();
        await stopChild(child, exited);
        if (pidFile) fs.rmSync(pidFile, { force: true });
      },
    };
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
}

async function waitForRpc(rpcUrl: string, chainId: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const body = (await res.json()) as { result?: string };
      if (body.result !== undefined) {
        if (Number(body.result) !== chainId) {
          throw new NodeStartError(
            `anvil answered with chain id ${Number(body.result)}, expected ${chainId}`,
          );
        }
        return;
      }
    } catch (err) {
      if (err instanceof NodeStartError) throw err;
    }
    if (Date.now() > deadline)
      throw new NodeStartError(`anvil at ${rpcUrl} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGINT lets anvil dump its state; SIGKILL only if it hangs. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-5).join("\n");
}
