import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Builds test/interop/tlogcheck (golang.org/x/mod sumdb/note + sumdb/tlog from Debian's
 * golang-golang-x-mod-dev, GOPATH mode, offline) once per run. Without a Go toolchain the caller
 * skips, except under CI=true where it fails (`.ci/run` installs golang-go).
 */
const GOPATH = process.env.CUSTODY_GOPATH ?? "/usr/share/gocode";
let built: string | undefined;

export function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: "off",
    GOPATH,
    GOFLAGS: "",
    GOCACHE: path.join(os.tmpdir(), "custody-gocache"),
  };
}

/** Path of the built tlogcheck binary, or undefined when Go or x/mod is missing (outside CI). */
export function tlogcheckBinary(): string | undefined {
  if (built) return built;
  const haveGo = (() => {
    try {
      execFileSync("go", ["version"], { stdio: "ignore" });
      return fs.existsSync(path.join(GOPATH, "src/golang.org/x/mod/sumdb/tlog"));
    } catch {
      return false;
    }
  })();
  if (!haveGo) {
    if (process.env.CI === "true")
      throw new Error(
        `Go toolchain or golang.org/x/mod missing under CI=true (apt-get install golang-go golang-golang-x-mod-dev)`,
      );
    return undefined;
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tlogcheck-")), "tlogcheck");
  execFileSync("go", ["build", "-o", out, "."], {
    cwd: path.join(__dirname, "../interop/tlogcheck"),
    env: goEnv(),
    stdio: "pipe",
  });
  built = out;
  return out;
}

/** Runs tlogcheck; resolves with its JSON summary, rejects with its stderr on any disagreement. */
export function runTlogcheck(bin: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`tlogcheck failed (${err.code}):\n${stderr}\n${stdout}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()!));
    });
  });
}
