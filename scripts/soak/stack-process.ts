import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { reclaimAnvil, type AnvilPidRecord } from "../../src/chain/anvil";

/** The repository root: the stack runs from here, as `npm start` does. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface StackProcessOptions {
  dataDir: string;
  /** SQLite (empty: `<dataDir>/ledger.sqlite`) or a postgres:// URL. */
  dbUrl: string;
  apiPort: number;
  chainPort: number;
  /** Appended to by every start (stdout and stderr of the stack). */
  logFile: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The stack as `npm start` runs it (src/stack/main.ts), in its own process group so that a
 * kill -9 of the group takes its anvil child with it, while a kill -9 of the node process alone
 * leaves the anvil child behind, as a crash of the node would.
 */
export class StackProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #expectExit = false;
  starts = 0;
  /** Exits nobody asked for (a crash of the stack): each is a finding. */
  readonly crashes: { at: string; code: number | null; signal: string | null }[] = [];
  constructor(readonly o: StackProcessOptions) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.o.apiPort}`;
  }
  get rpcUrl(): string {
    return `http://127.0.0.1:${this.o.chainPort}`;
  }
  get anvilPidFile(): string {
    return path.join(this.o.dataDir, "chain", "anvil.pid.json");
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the stack; resolves once its API answers (or rejects if it exits first). */
  async start(timeoutMs = 180_000): Promise<void> {
    const log = fs.openSync(this.o.logFile, "a");
    fs.writeSync(log, `\n=== start ${++this.starts} at ${new Date().toISOString()} ===\n`);
    const args = [
      "--import",
      "tsx",
      "src/stack/main.ts",
      "--data-dir",
      this.o.dataDir,
      "--port",
      String(this.o.apiPort),
      "--chain-port",
      String(this.o.chainPort),
      "--anchor-interval-ms",
      "500",
      "--rate-limit",
      "0",
      ...(this.o.dbUrl ? ["--db", this.o.dbUrl] : []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: this.o.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    this.#child = child;
    this.#expectExit = false;
    let exitCode: number | null | undefined;
    this.#exited = new Promise((r) =>
      child.once("exit", (code, signal) => {
        exitCode = code;
        if (!this.#expectExit) this.crashes.push({ at: new Date().toISOString(), code, signal });
        r();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exitCode !== undefined)
        throw new Error(`the stack exited with code ${exitCode} during start; see ${this.o.logFile}`);
      if (await this.healthy()) return;
      await sleep(250);
    }
    throw new Error(`the stack did not answer within ${timeoutMs} ms; see ${this.o.logFile}`);
  }

  /** True while the process started last has not exited. */
  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async healthy(): Promise<boolean> {
    try {
      const r = await fetch(`${this.apiUrl}/v1/health`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200;
    } catch {
      return false;
    }
  }

  /** kill -9 of the whole process group: the node process and its anvil child. */
  async killGroup(): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    this.#expectExit = true;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    await this.#exited;
  }

  /** kill -9 of the node process only: its anvil child survives and holds the chain port. */
  async killNode(): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    this.#expectExit = true;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    await this.#exited;
  }

  /** The pid of the anvil node the running stack recorded, if any. */
  anvilPid(): number | undefined {
    try {
      return (JSON.parse(fs.readFileSync(this.anvilPidFile, "utf8")) as AnvilPidRecord).pid;
    } catch {
      return undefined;
    }
  }

  /** kill -9 of the chain node only. Returns false when there was none to kill. */
  killAnvil(): boolean {
    const pid = this.anvilPid();
    if (pid === undefined) return false;
    try {
      process.kill(pid, "SIGKILL");
      return true;
    } catch {
      return false;
    }
  }

  /** A clean stop (SIGTERM, as an operator or a supervisor would); kill -9 of the group after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    this.#expectExit = true;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, graceMs);
    await this.#exited;
    clearTimeout(timer);
    // A node left behind by an earlier kill of the node alone: the stack's own ownership record says.
    await reclaimAnvil(this.anvilPidFile);
    this.#child = undefined;
  }
}
