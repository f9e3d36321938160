import { Worker } from "node:worker_threads";

/**
 * Copies a SQLite database's WAL back into the database file from a worker thread, so the writer
 * never does it inside a commit. SQLite's automatic checkpoint runs in the committing call: with
 * large append-only batches it rewrote tens of MiB and synced the file every few commits, on the
 * thread that also plans the next batch. Here a second connection on the other core does the same
 * PASSIVE checkpoint (it never blocks the writer or readers) shortly after commits.
 *
 * A busy writer starts its next transaction before such a checkpoint ends, so SQLite never gets to
 * restart the WAL from its beginning and the file would grow to the backstop below. Something must
 * run a RESTART between two transactions: the writer does (see sqlite-store.ts), which costs it
 * only the frames this thread has not copied yet. (A RESTART from this thread would wait for the
 * writer's transaction and mostly miss the short gap before the next one.)
 *
 * Durability is unchanged: a commit is durable once its WAL frames are synced (synchronous=FULL),
 * before any checkpoint. The writer keeps a (larger) automatic checkpoint as a backstop, so the WAL
 * stays bounded even if this thread falls behind or fails.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 0");
// Frames copied by this connection are synced here, not in the writer's commit.
db.pragma("synchronous = FULL");
let timer = null;
function run() {
  timer = null;
  let error = null;
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (e) {
    // SQLITE_BUSY: another checkpoint is running; the next notification retries.
    error = String(e && e.message ? e.message : e);
  }
  parentPort.postMessage({ error });
}
parentPort.on("message", (m) => {
  if (m === "close") {
    if (timer) clearTimeout(timer);
    db.close();
    parentPort.close();
  } else if (!timer) {
    timer = setTimeout(run, workerData.delayMs);
  }
});
`;

export interface CheckpointerOptions {
  /** Wait this long after a notification before checkpointing (commits meanwhile share it). */
  delayMs?: number;
}

export class BackgroundCheckpointer {
  readonly #worker: Worker;
  #pending = false;
  #closed = false;
  /** Checkpoints finished (for tests and metrics). */
  completed = 0;
  lastError: string | null = null;

  constructor(path: string, opts: CheckpointerOptions = {}) {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path,
        driver: require.resolve("better-sqlite3"),
        delayMs: opts.delayMs ?? 10,
      },
    });
    this.#worker.on("message", (m: { error: string | null }) => {
      this.#pending = false;
      this.completed++;
      this.lastError = m.error;
    });
    this.#worker.on("error", (e) => {
      this.lastError = String(e);
      this.#closed = true;
    });
    // Never keeps the process alive (after the listeners: adding one refs the port again); the
    // writer's own checkpoint remains if the thread is gone.
    this.#worker.unref();
  }

  /** Call after a commit: a checkpoint follows shortly (several commits share one). */
  notify(): void {
    if (this.#closed || this.#pending) return;
    this.#pending = true;
    this.#worker.postMessage("commit");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    this.#worker.postMessage("close");
    await exited;
  }
}
