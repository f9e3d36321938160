import type BetterSqlite3 from "better-sqlite3";
import { BackgroundCheckpointer } from "./checkpointer";

/** WAL pages between automatic checkpoints (SQLite's default is 1 000, i.e. 4 MiB). */
export const WAL_AUTOCHECKPOINT = 16_384;
/** Once checkpoints run in the background, the writer's own is only a backstop: 256 MiB of WAL. */
const WAL_AUTOCHECKPOINT_BACKSTOP = 65_536;
/**
 * Events written before checkpoints move to a background thread (about 10 MiB of WAL): small
 * ledgers (tests, demos) never start the thread.
 */
const BACKGROUND_CHECKPOINT_AFTER = 20_000;
/**
 * Then one checkpoint per this many events (about 2 MiB of WAL): each one also syncs the database
 * file, and one per small commit would compete with the commits' own WAL syncs.
 */
const BACKGROUND_CHECKPOINT_EVERY = 4_000;
/**
 * And every this many events (~40 MiB of WAL) the writer itself runs a RESTART checkpoint between
 * two transactions: the background thread has copied all but the last few frames, so it copies
 * those, rewinds the WAL and the file stops growing. A busy writer never leaves the background
 * thread a gap between transactions to do this.
 */
const WAL_RESTART_EVERY = 64_000;
/** How long that RESTART may wait for readers of older snapshots before giving up until next time. */
const WAL_RESTART_WAIT_MS = 100;

/**
 * When the SQLite WAL is copied back into the database file and rewound. A batch of 8 000
 * transfers writes ~2 000 pages: with the default autocheckpoint every such commit also
 * checkpointed them (and synced the file). A larger WAL checkpoints the pages every batch rewrites
 * once per several batches, then a background thread does it, and the writer rewinds the WAL
 * between two transactions. Durability is unchanged: a commit is durable once its WAL frames are
 * synced.
 */
export class WalPolicy {
  readonly #s: BetterSqlite3.Database;
  #eventsWritten = 0;
  #eventsAtCheckpoint = 0;
  #eventsAtRestart = 0;
  #closed = false;
  #checkpointer?: BackgroundCheckpointer;

  constructor(s: BetterSqlite3.Database) {
    this.#s = s;
  }

  /** Before the first write. */
  open(): void {
    this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
  }

  /** After each commit that wrote `events` events (called between two transactions). */
  committed(events: number): void {
    this.#eventsWritten += events;
    if (this.#checkpointer) {
      if (this.#eventsWritten - this.#eventsAtRestart >= WAL_RESTART_EVERY) {
        this.#eventsAtRestart = this.#eventsAtCheckpoint = this.#eventsWritten;
        return this.#restartWal();
      }
      if (this.#eventsWritten - this.#eventsAtCheckpoint < BACKGROUND_CHECKPOINT_EVERY) return;
      this.#eventsAtCheckpoint = this.#eventsWritten;
      return this.#checkpointer.notify();
    }
    if (this.#eventsWritten < BACKGROUND_CHECKPOINT_AFTER || this.#closed) return;
    const path = this.#s.name;
    if (this.#s.memory || path === "" || path === ":memory:") return;
    this.#checkpointer = new BackgroundCheckpointer(path);
    this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_BACKSTOP}`);
    this.#eventsAtCheckpoint = this.#eventsAtRestart = this.#eventsWritten;
    this.#checkpointer.notify();
  }

  #restartWal(): void {
    const s = this.#s;
    const timeout = s.pragma("busy_timeout", { simple: true }) as number;
    s.pragma(`busy_timeout = ${WAL_RESTART_WAIT_MS}`);
    try {
      // Busy (a reader on an older snapshot, the background checkpoint mid-run): next time.
      s.pragma("wal_checkpoint(RESTART)");
    } catch {
      // SQLITE_BUSY can also surface as an error; the next restart tries again.
    } finally {
      s.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /** Stops the checkpoint thread (the database handle stays open: it is the caller's). */
  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#checkpointer;
    this.#checkpointer = undefined;
    if (c) {
      await c.close();
      if (this.#s.open) this.#s.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT}`);
    }
  }
}
