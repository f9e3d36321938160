import { InvariantError } from "../errors";
import { GroupCommitQueue } from "./group-commit";
import type { WriteTurnstile } from "./turnstile";

/**
 * One unit-of-work driver for every backend. A unit is `(keys, plan)`: the driver opens one write
 * transaction, has the dialect lock and load the rows the keys name, runs the pure plan on them,
 * writes what the plan changed and commits. Units that arrive together share one transaction
 * (group commit, see group-commit.ts) and still get one answer each:
 *
 * - every plan runs on its own view of the loaded rows (rows are copied when the plan first reads
 *   them), so a plan that throws leaves nothing behind and its neighbours never see its changes;
 *   a unit's view is kept (merged into the group's rows) only when its plan returned. A unit alone
 *   in its group (a batch, mostly) has no neighbours: its plan runs on the loaded rows themselves,
 *   and if it throws, the transaction is abandoned (rolled back), so a dialect drops whatever it
 *   cached of those rows, as after any failed transaction. Same outcome, no copies;
 * - plans run in arrival order, each seeing what the units before it did;
 * - all writes of the group happen after its plans ran, in one go: a plan's error is that unit's
 *   answer alone, without touching the database;
 * - a database error ends the transaction: the group is run again (with every id looked up if the
 *   first attempt skipped the lookups, or after a serialization failure), and if it fails again
 *   each unit runs alone, so only the one that cannot be written fails.
 *
 * Dialects may be synchronous (SQLite: the whole group runs inside one turn of the event loop,
 * inside better-sqlite3's transaction) or asynchronous (PostgreSQL). The driver and the planner are
 * written once as generators that `yield` every dialect call; `drive` runs them synchronously until
 * a call returns a promise.
 */
export type Step<T> = T | Promise<T>;
/** A body that yields each dialect call's result (a value or a promise of it). */
export type Work<T> = Generator<unknown, T, unknown>;

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** Runs `work`: synchronously while every yielded step is a value, then asynchronously. */
export function drive<T>(work: Work<T>): Step<T> {
  let input: unknown;
  for (;;) {
    const r = work.next(input);
    if (r.done) return r.value;
    if (isPromise(r.value)) return resume(work, r.value);
    input = r.value;
  }
}

async function resume<T>(work: Work<T>, pending: Promise<unknown>): Promise<T> {
  let step: Promise<unknown> | undefined = pending;
  let input: unknown;
  for (;;) {
    let r: IteratorResult<unknown, T>;
    if (step) {
      let failed = false;
      let error: unknown;
      try {
        input = await step;
      } catch (e) {
        failed = true;
        error = e;
      }
      step = undefined;
      r = failed ? work.throw(error) : work.next(input);
    } else r = work.next(input);
    if (r.done) return r.value;
    if (isPromise(r.value)) step = r.value;
    else input = r.value;
  }
}

/**
 * What a backend provides: one write transaction, and the row operations the planner asks for
 * (`Tables` maps each logical table to its key and row types).
 */
export interface Dialect<Tx, Tables extends TableMap> {
  readonly kind: "sqlite" | "postgres";
  /**
   * The process's turn at the database's write lock (SQLite, see turnstile.ts): taken before each
   * transaction, given back after its commit or rollback. Waiting for it yields to the event loop.
   */
  readonly turnstile?: WriteTurnstile;
  /**
   * Runs `body` in one write transaction and commits; rolls back and rethrows if it throws. A
   * synchronous dialect requires `body` to return a value, not a promise.
   */
  transaction<T>(body: (tx: Tx) => Step<T>, opts?: TransactionOptions): Step<T>;
  /**
   * Optional: true when this transaction's rows so far came, at least in part, from the dialect's
   * cache instead of a locked read. A plan that fails on such rows is not an answer yet.
   */
  readUnlocked?(tx: Tx): boolean;
  /**
   * The rows with these keys (missing keys are left out). Rows another writer could change before
   * this transaction commits are locked until then (PostgreSQL `FOR UPDATE`; SQLite's write
   * transaction already holds the whole database).
   */
  lockAndLoad<N extends keyof Tables>(
    tx: Tx,
    table: N,
    keys: readonly Tables[N]["key"][],
  ): Step<Tables[N]["row"][]>;
  /** Reserves `count` contiguous event sequences; returns the first. Held until commit. */
  nextSequences(tx: Tx, count: number): Step<number>;
  insert<N extends keyof Tables>(tx: Tx, table: N, rows: readonly Tables[N]["row"][]): Step<void>;
  /** Writes the rows' current values over the stored ones (rows this transaction loaded or inserted). */
  upsert<N extends keyof Tables>(tx: Tx, table: N, rows: readonly Tables[N]["row"][]): Step<void>;
  /** True when running the whole transaction again may succeed (serialization failure, deadlock). */
  retryable(error: unknown): boolean;
}

/**
 * A transaction read rows without locking them (a dialect's cache of what it last committed) and
 * cannot stand on them: the database found them changed when the transaction wrote (the dialect
 * throws this), or a plan failed on them (a refusal must rest on current rows; the driver throws
 * it). The group runs again with every row locked and loaded.
 */
export class UnlockedRowsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnlockedRowsError";
  }
}

/** How the driver asks a dialect to run one attempt. */
export interface TransactionOptions {
  /** Load every row from the database under lock: no cached rows (after an UnlockedRowsError). */
  lockRows?: boolean;
}

export type TableMap = { [name: string]: { key: unknown; row: unknown } };

/** The domain side of the driver: how keys load into state, how views isolate plans, how changes are written. */
export interface Planner<
  Keys,
  State,
  P extends { result(): unknown },
  Tx,
  Tables extends TableMap,
  D extends Dialect<Tx, Tables> = Dialect<Tx, Tables>,
> {
  /** Whether a first attempt may skip looking ids up (the database's unique keys catch replays). */
  optimistic(keys: readonly Keys[]): boolean;
  load(dialect: D, tx: Tx, keys: readonly Keys[], optimistic: boolean): Work<State>;
  /**
   * After an optimistic load, some plans failed: true if they would have failed the same with
   * every id looked up (none of the ids the optimistic load skipped exists), so their errors stand
   * and the group goes on; false sends the group to a full attempt. Without it, any failure does.
   */
  failuresStand?(dialect: D, tx: Tx, keys: readonly Keys[]): Work<boolean>;
  /**
   * What a unit with these keys locks or writes, for keeping units that share any in one group
   * when waiting units are split between two (group-commit.ts). Without it, none are assumed.
   */
  conflictKeys?(keys: Keys): Iterable<unknown>;
  /** A view of `state` for one plan: what the plan changes stays in the view until `keep`. */
  view(state: State): State;
  /** The plan returned: its view becomes the group's state. */
  keep(state: State, view: State, plan: P): void;
  write(dialect: D, tx: Tx, plans: readonly P[]): Work<void>;
}

interface Unit<Keys, State, P> {
  keys: Keys;
  plan: (state: State, now: number) => P;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A lone unit's plan threw: the transaction is abandoned and the plan's error is the unit's answer. */
class PlanRefused {
  constructor(readonly error: unknown) {}
}

export interface UnitOfWorkOptions {
  clock: () => number;
  /** Groups in flight at once (each on its own connection); SQLite: 1. */
  maxInFlight?: number;
  /** Most units in one group. */
  maxGroup?: number;
  /** Share waiting units among free group slots, each group at least this many (group-commit.ts). */
  splitMin?: number;
  /** Attempts of a group after retryable errors before its units run one by one. */
  maxAttempts?: number;
}

export class UnitOfWork<
  Keys,
  State,
  P extends { result(): unknown },
  Tx,
  Tables extends TableMap,
  D extends Dialect<Tx, Tables> = Dialect<Tx, Tables>,
> {
  readonly #dialect: D;
  readonly #planner: Planner<Keys, State, P, Tx, Tables, D>;
  readonly #clock: () => number;
  readonly #maxAttempts: number;
  readonly #queue: GroupCommitQueue<Unit<Keys, State, P>>;
  /** Groups committed and units in them, for tests and metrics. */
  readonly stats = { groups: 0, units: 0, retries: 0, splits: 0, unlockedRetries: 0 };

  constructor(dialect: D, planner: Planner<Keys, State, P, Tx, Tables, D>, opts: UnitOfWorkOptions) {
    this.#dialect = dialect;
    this.#planner = planner;
    this.#clock = opts.clock;
    this.#maxAttempts = opts.maxAttempts ?? 8;
    this.#queue = new GroupCommitQueue((units) => drive(this.#group(units)), {
      maxInFlight: opts.maxInFlight ?? 1,
      maxGroup: opts.maxGroup ?? Infinity,
      splitMin: opts.splitMin,
      conflicts: planner.conflictKeys ? (u) => planner.conflictKeys!(u.keys) : undefined,
    });
  }

  execute<T>(keys: Keys, plan: (state: State, now: number) => P & { result(): T }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ keys, plan, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  *#group(units: Unit<Keys, State, P>[]): Work<void> {
    let optimistic = this.#planner.optimistic(units.map((u) => u.keys));
    let lockRows = false;
    for (let attempt = 1; ; attempt++) {
      let outcomes: Outcome[];
      const turnstile = this.#dialect.turnstile;
      const wait = turnstile?.enter();
      if (wait) yield wait;
      try {
        outcomes = (yield this.#dialect.transaction(
          (tx) => drive(this.#attempt(tx, units, optimistic)),
          lockRows ? { lockRows } : undefined,
        )) as Outcome[];
      } catch (e) {
        turnstile?.leave();
        if (e instanceof UnlockedRowsError && !lockRows) {
          // Not a failure of the group: the same attempt on locked rows decides (at once: no
          // other writer holds anything this one is waiting for).
          lockRows = true;
          this.stats.unlockedRetries++;
          attempt--;
          continue;
        }
        if (e instanceof PlanRefused) {
          units[0].reject(e.error);
          return;
        }
        if (optimistic) {
          // Perhaps a replayed id: the next attempt looks every id up.
          optimistic = false;
          this.stats.retries++;
          continue;
        }
        if (this.#dialect.retryable(e) && attempt < this.#maxAttempts) {
          this.stats.retries++;
          yield new Promise((r) => setTimeout(r, Math.random() * 2 * attempt));
          continue;
        }
        if (units.length > 1) {
          // Someone's writes cannot go in: each unit alone, so only that one fails.
          this.stats.splits++;
          for (const u of units) yield drive(this.#group([u]));
          return;
        }
        units[0].reject(e);
        return;
      }
      turnstile?.leave();
      this.stats.groups++;
      this.stats.units += units.length;
      units.forEach((u, i) => {
        const o = outcomes[i];
        if (o.ok) u.resolve(o.value);
        else u.reject(o.error);
      });
      return;
    }
  }

  *#attempt(tx: Tx, units: Unit<Keys, State, P>[], optimistic: boolean): Work<Outcome[]> {
    const planner = this.#planner;
    const state = yield* planner.load(
      this.#dialect,
      tx,
      units.map((u) => u.keys),
      optimistic,
    );
    if (units.length === 1) return yield* this.#alone(tx, units[0], state, optimistic);
    const planned: ({ ok: true; plan: P } | { ok: false; error: unknown })[] = [];
    const plans: P[] = [];
    for (const u of units) {
      const view = planner.view(state);
      try {
        const plan = u.plan(view, this.#clock());
        planner.keep(state, view, plan);
        plans.push(plan);
        planned.push({ ok: true, plan });
      } catch (error) {
        planned.push({ ok: false, error });
      }
    }
    // A plan may have failed on cached rows that are no longer current: locked rows decide.
    if (plans.length < units.length && this.#dialect.readUnlocked?.(tx))
      throw new UnlockedRowsError("a plan failed on unlocked rows");
    // A plan may have failed only because ids were not looked up (a replay): then the attempt with
    // every id loaded decides (the driver catches this and runs the group again).
    if (optimistic && plans.length < units.length) {
      const failed = units.filter((_, i) => !planned[i].ok).map((u) => u.keys);
      const stand = planner.failuresStand ? yield* planner.failuresStand(this.#dialect, tx, failed) : false;
      if (!stand) throw new InvariantError("optimistic attempt refused");
    }
    if (plans.length) yield* planner.write(this.#dialect, tx, plans);
    // Results read the sequences the write assigned; they are answered only after the commit.
    return planned.map((p) => (p.ok ? { ok: true, value: p.plan.result() } : p));
  }

  /** A unit alone in its group: its plan changes the loaded rows themselves (no view to keep). */
  *#alone(tx: Tx, unit: Unit<Keys, State, P>, state: State, optimistic: boolean): Work<Outcome[]> {
    let plan: P;
    try {
      plan = unit.plan(state, this.#clock());
    } catch (error) {
      if (this.#dialect.readUnlocked?.(tx)) throw new UnlockedRowsError("a plan failed on unlocked rows");
      if (optimistic) {
        const stand = this.#planner.failuresStand
          ? yield* this.#planner.failuresStand(this.#dialect, tx, [unit.keys])
          : false;
        if (!stand) throw new InvariantError("optimistic attempt refused");
      }
      // Thrown out of the transaction: the rows the plan may have changed are dropped with it.
      throw new PlanRefused(error);
    }
    yield* this.#planner.write(this.#dialect, tx, [plan]);
    return [{ ok: true, value: plan.result() }];
  }
}

/** For synchronous dialects: the body must not have waited on anything. */
export function syncStep<T>(v: Step<T>): T {
  if (isPromise(v)) throw new InvariantError("a synchronous transaction body returned a promise");
  return v;
}
