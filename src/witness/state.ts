import fs from "node:fs";
import path from "node:path";
import { WitnessStateError } from "./errors";

/** The latest cosigned checkpoint of one log (by origin). */
export interface WitnessLogState {
  size: number;
  rootHash: `0x${string}`;
  /** The checkpoint as cosigned (log signature + our cosignature), for the monitoring endpoint. */
  note: string;
}

const VERSION = "custody-witness-state-v1";

/**
 * Durable witness state in one JSON file, replaced atomically (write temp, fsync, rename, fsync the
 * directory): after a crash the file holds either the old or the new state, never a mix, and a
 * state is on disk before any cosignature made from it leaves the process.
 */
export class WitnessStateFile {
  private logs: Record<string, WitnessLogState>;

  constructor(readonly file: string) {
    this.logs = {};
    if (fs.existsSync(file)) {
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (cause) {
        throw new WitnessStateError(`witness state ${file} is not JSON`, { cause });
      }
      const r = raw as { version?: unknown; logs?: unknown };
      if (r.version !== VERSION || typeof r.logs !== "object" || r.logs === null)
        throw new WitnessStateError(`witness state ${file} is not ${VERSION}`);
      for (const [origin, s] of Object.entries(r.logs as Record<string, WitnessLogState>)) {
        if (!Number.isSafeInteger(s?.size) || !/^0x[0-9a-f]{64}$/.test(s?.rootHash ?? ""))
          throw new WitnessStateError(`witness state ${file} has a malformed entry for ${origin}`);
        this.logs[origin] = s;
      }
    }
  }

  get(origin: string): WitnessLogState | undefined {
    return this.logs[origin];
  }

  /** Durably records `state` for `origin` before returning. */
  put(origin: string, state: WitnessLogState): void {
    const next = { ...this.logs, [origin]: state };
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ version: VERSION, logs: next }, null, 2) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    const dir = fs.openSync(path.dirname(path.resolve(this.file)), "r");
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
    this.logs = next;
  }
}
