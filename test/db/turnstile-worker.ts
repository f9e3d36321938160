/**
 * A writer on a worker thread for test/db/turnstile.test.ts: it opens the SQLite file with the
 * lane its parent shared and, by `mode`:
 * - "commits": commits `count` small transactions, each in its turn, and reports how many of the
 *   parent's commits (a shared counter the parent bumps after each) went by while it waited;
 * - "hold": takes the turn and keeps it until the parent terminates the thread;
 * - "wait": asks for the turn (the parent holds it) and is terminated while waiting.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../../src/db/database";
import type { SharedTurnstile } from "../../src/db/turnstile";

export interface TurnstileWorkerData {
  file: string;
  turnstile: SharedTurnstile;
  /** Int32Array word 0: commits of the parent so far. */
  counter: SharedArrayBuffer;
  mode: "commits" | "hold" | "wait";
  count?: number;
}

export async function runTurnstileWorker(): Promise<void> {
  const d = workerData as TurnstileWorkerData;
  const port = parentPort!;
  const db = openDatabase(d.file, { turnstile: d.turnstile });
  if (db.kind !== "sqlite") throw new Error("a SQLite file");
  const t = db.turnstile;
  const parentCommits = new Int32Array(d.counter);
  if (d.mode === "hold") {
    await t.enter();
    port.postMessage({ type: "held" });
    setInterval(() => {}, 1000);
    return;
  }
  if (d.mode === "wait") {
    const w = t.enter();
    port.postMessage({ type: "waiting", pending: w !== undefined });
    setInterval(() => {}, 1000);
    await w;
    port.postMessage({ type: "held" });
    return;
  }
  const insert = db.sqlite.prepare("INSERT INTO writes (who) VALUES ('worker')");
  const between: number[] = [];
  for (let i = 0; i < (d.count ?? 1); i++) {
    // Counted from the moment this lane asks (enter() has announced it before it returns).
    const w = t.enter();
    const before = Atomics.load(parentCommits, 0);
    if (w) await w;
    between.push(Atomics.load(parentCommits, 0) - before);
    try {
      db.sqlite.transaction(() => insert.run()).immediate();
    } finally {
      t.leave();
    }
  }
  db.sqlite.close();
  port.postMessage({ type: "done", between });
}
