import { InvalidArgumentError } from "../errors";

/**
 * A fair turn at SQLite's write lock for the writers of one process: the connection on the main
 * thread (the ledger's group commit, the risk tables, plain writes of src/db/sql.ts) and the
 * connections of its worker threads (the rules engine's thread, src/risk/engine-thread.ts).
 *
 * Why: SQLite's busy handler is not a queue. A connection that finds the database locked sleeps
 * and tries again; a writer that commits back to back (the ledger under load) takes the lock again
 * before the sleeper wakes, again and again, and the other writer starves for seconds. Every
 * writer of the process therefore takes its turn here before `BEGIN IMMEDIATE` and gives it back
 * after COMMIT or ROLLBACK: the lock is handed to the next waiting writer, in round-robin order of
 * lanes, so a writer that waits gets it after at most one turn of each other writer.
 *
 * Shape: one SharedArrayBuffer shared by the threads of the process; each thread (more precisely
 * each connection) has a lane. Lane 0 belongs to the thread that created the turnstile; `share()`
 * hands out the others to worker threads (`WriteTurnstile.attach` in the worker). The word HOLDER
 * is the lane whose turn it is (or FREE); WAITING[l] says lane l wants it; DEAD[l] marks a lane
 * whose thread is gone. Callers on one thread queue locally behind each other and only the head
 * of that queue waits on the shared word.
 *
 * Waiting never blocks an event loop: `enter()` returns `undefined` when the turn was free (the
 * synchronous fast path, so an uncontended SQLite commit stays in one turn of the event loop) and
 * otherwise a promise that `Atomics.waitAsync` resolves when the turn is handed over.
 *
 * A thread that dies holding the turn (or waiting for it) would keep it forever: the thread that
 * started it calls `abandon(lane)` when it exits, which hands the turn on as its `leave()` would.
 *
 * The turnstile is per process, or more exactly per connection opened by `openDatabase` and the
 * lanes it shared: writers of other processes on the same file (and other connections opened
 * separately in this one) are not in it and still meet its writers through SQLite's busy timeout
 * (src/db/database.ts). Writes that do not take the turn (migrations at open, raw statements) do
 * too.
 */
export interface SharedTurnstile {
  buffer: SharedArrayBuffer;
  lane: number;
}

const FREE = -1;
const HOLDER = 0;
const NEXT_LANE = 1;
const LANES = 16;
const WAITING = 2;
const DEAD = WAITING + LANES;
const WORDS = DEAD + LANES;
/** A waiter looks again this often even without a wake-up (a safety net; hand-overs notify). */
const RECHECK_MS = 250;

/** `Atomics.waitAsync` (Node ≥ 16; its types are in lib ES2024, above this project's ES2022). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
      timeout: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

export class WriteTurnstile {
  readonly #w: Int32Array;
  readonly lane: number;
  /** This lane holds the turn (one of this thread's callers is between enter and leave). */
  #held = false;
  /** This thread's callers waiting behind the one that holds or is acquiring the turn. */
  readonly #queue: (() => void)[] = [];
  #acquiring = false;
  /** Turns taken by this lane, how many had to wait and for how long in all (tests, benches). */
  readonly stats = { turns: 0, waited: 0, waitedMs: 0 };

  private constructor(w: Int32Array, lane: number) {
    this.#w = w;
    this.lane = lane;
  }

  /** A new turnstile; this thread holds lane 0. */
  static create(): WriteTurnstile {
    const w = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    Atomics.store(w, HOLDER, FREE);
    Atomics.store(w, NEXT_LANE, 0);
    return new WriteTurnstile(w, 0);
  }

  /** The lane `share()` handed to this thread. */
  static attach(s: SharedTurnstile): WriteTurnstile {
    if (!(s.buffer instanceof SharedArrayBuffer) || s.buffer.byteLength !== WORDS * 4)
      throw new InvalidArgumentError("not a write turnstile's buffer");
    if (!Number.isInteger(s.lane) || s.lane < 1 || s.lane >= LANES)
      throw new InvalidArgumentError(`write turnstile lane ${s.lane} is out of range`);
    return new WriteTurnstile(new Int32Array(s.buffer), s.lane);
  }

  /**
   * A lane for another thread (passed to it in workerData, see `attach`). Lanes are reused in
   * turn; a lane handed out again must have been abandoned (its thread gone) first.
   */
  share(): SharedTurnstile {
    const lane = 1 + (Atomics.add(this.#w, NEXT_LANE, 1) % (LANES - 1));
    Atomics.store(this.#w, WAITING + lane, 0);
    Atomics.store(this.#w, DEAD + lane, 0);
    return { buffer: this.#w.buffer as SharedArrayBuffer, lane };
  }

  /**
   * Takes the turn: `undefined` if it is this caller's now, else a promise that resolves when it
   * is. Every `enter` is followed by exactly one `leave`.
   */
  enter(): Promise<void> | undefined {
    if (this.#held || this.#acquiring || this.#queue.length > 0)
      return new Promise<void>((resolve) => this.#queue.push(resolve));
    Atomics.store(this.#w, WAITING + this.lane, 1);
    if (this.#tryTake()) return undefined;
    return this.#wait();
  }

  /** Gives the turn back: to the next waiting lane, else to this thread's next caller, else free. */
  leave(): void {
    if (!this.#held) throw new InvalidArgumentError("the write turnstile is not held by this lane");
    this.#held = false;
    const next = this.#queue.shift();
    // Announce this thread's next caller before passing, so the round ends with it if nobody waits.
    if (next) Atomics.store(this.#w, WAITING + this.lane, 1);
    pass(this.#w, this.lane);
    if (next) {
      if (this.#tryTake()) next();
      else void this.#wait().then(next);
    }
  }

  /**
   * Runs `write` (synchronous: one SQLite transaction) in this lane's turn: waiting for the turn
   * yields to the event loop, the write itself does not. The turn is given back however it ends.
   */
  async run<T>(write: () => T): Promise<T> {
    const wait = this.enter();
    if (wait) await wait;
    try {
      return write();
    } finally {
      this.leave();
    }
  }

  /** Whether this lane holds the turn now. */
  get held(): boolean {
    return this.#held;
  }

  /**
   * The thread that held `lane` is gone: its turn, if it held one, goes to the next waiting lane,
   * and it is never handed the turn again. Called by the thread that started it, on its exit.
   */
  abandon(lane: number): void {
    if (lane === this.lane) throw new InvalidArgumentError("a lane cannot abandon itself");
    Atomics.store(this.#w, DEAD + lane, 1);
    Atomics.store(this.#w, WAITING + lane, 0);
    if (Atomics.load(this.#w, HOLDER) === lane) pass(this.#w, lane);
  }

  /** The turn is this lane's (handed over, or taken while free). */
  #tryTake(): boolean {
    const w = this.#w;
    const h = Atomics.load(w, HOLDER);
    if (h === this.lane || (h === FREE && Atomics.compareExchange(w, HOLDER, FREE, this.lane) === FREE)) {
      Atomics.store(w, WAITING + this.lane, 0);
      this.#held = true;
      this.stats.turns++;
      return true;
    }
    return false;
  }

  async #wait(): Promise<void> {
    this.#acquiring = true;
    this.stats.waited++;
    const t0 = performance.now();
    // A pending Atomics.waitAsync does not keep a thread's event loop alive: this timer does, or a
    // thread with nothing else to do would end while it waits (and be handed a turn it never takes).
    const alive = setInterval(() => {}, 1 << 30);
    try {
      for (;;) {
        const h = Atomics.load(this.#w, HOLDER);
        if (this.#tryTake()) return;
        if (h === FREE) continue;
        const r = waitAsync(this.#w, HOLDER, h, RECHECK_MS);
        if (r.async) await r.value;
      }
    } finally {
      clearInterval(alive);
      this.#acquiring = false;
      this.stats.waitedMs += performance.now() - t0;
    }
  }
}

/**
 * Hands the turn from lane `from` to the next waiting live lane after it (round robin), or frees
 * it. Only if `from` still holds it: a hand-over raced by `abandon` happens once.
 */
function pass(w: Int32Array, from: number): void {
  for (;;) {
    let to = FREE;
    for (let k = 1; k <= LANES; k++) {
      const l = (from + k) % LANES;
      if (Atomics.load(w, WAITING + l) === 1 && Atomics.load(w, DEAD + l) === 0) {
        to = l;
        break;
      }
    }
    if (Atomics.compareExchange(w, HOLDER, from, to) !== from) return;
    Atomics.notify(w, HOLDER);
    // Handed to a lane that died meanwhile (abandon saw the old holder): pass on for it.
    if (to === FREE || Atomics.load(w, DEAD + to) === 0) return;
    from = to;
  }
}
