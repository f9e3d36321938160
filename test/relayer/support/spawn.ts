import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const FIXTURE = path.join(__dirname, "..", "fixtures", "run-relayer.ts");

export interface RelayerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs test/relayer/fixtures/run-relayer.ts in a child process with the given environment. */
export function spawnRelayer(env: Record<string, string>): RelayerProcess {
  const child = spawn(process.execPath, ["-r", "tsx/cjs", FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return { child, output: () => out, exited };
}
