import type { AccountRow } from "./store";

/**
 * Account rows as this process last committed them to PostgreSQL, so that a group can plan without
 * the lock-and-load round trip (docs/ledger.md, "Checked account cache"). Nothing tells a
 * PostgreSQL client that another process wrote, so a cached row is only a guess: the write that
 * uses it compares every column a plan may depend on and changes (status and the four balances)
 * with the stored row, under the row lock the update takes, and fails the whole transaction if
 * any differs. Terms (type, asset, scale, limits, pseudonym) never change once an account exists.
 *
 * Rows in the cache are never handed to plans (they get copies) and are replaced only by rows a
 * committed transaction wrote. An account used by a transaction of this process that has not
 * finished is "in flight": other transactions lock and load it instead, since its cached row is
 * about to be out of date.
 *
 * When many checks fail (another process writes the same accounts, or plans keep failing and must
 * be rerun on locked rows), the cache stands aside for a while: every group locks, as without it.
 */
export class CheckedAccountCache {
  readonly #rows = new Map<string, AccountRow>();
  readonly #inFlight = new Map<string, number>();
  readonly #max: number;
  /** Recent share of checked transactions that had to run again (exponentially weighted). */
  #waste = 0;
  /** Transactions left to run locked before the cache is tried again. */
  #pausedFor = 0;
  readonly stats = { hits: 0, misses: 0, checked: 0, stale: 0, pauses: 0 };

  static readonly PAUSE_AT = 0.25;
  static readonly PAUSE_GROUPS = 512;
  static readonly WEIGHT = 0.1;

  /** `max` rows at most (0 turns the cache off); beyond it, the first cached go first. */
  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** Whether checked writes are paused (too many failed lately). */
  get paused(): boolean {
    return this.#pausedFor > 0;
  }

  /**
   * The rows for `ids` if every one is cached, none is in flight and the cache is not paused
   * (the cache's own objects: the caller copies what a plan may change). Counts a hit or a miss.
   */
  lookup(ids: readonly string[]): AccountRow[] | undefined {
    if (this.#max === 0) return undefined;
    if (this.#pausedFor > 0) {
      this.#pausedFor--;
      this.stats.misses++;
      return undefined;
    }
    const rows: AccountRow[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const r = this.#rows.get(ids[i]);
      if (r === undefined || this.#inFlight.has(ids[i])) {
        this.stats.misses++;
        return undefined;
      }
      rows[i] = r;
    }
    this.stats.hits++;
    return rows;
  }

  /** Marks accounts as used by a transaction that has not finished. */
  enter(ids: Iterable<string>): void {
    for (const id of ids) this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
  }

  /** The transaction that entered `ids` is over. */
  leave(ids: Iterable<string>): void {
    for (const id of ids) {
      const n = this.#inFlight.get(id)! - 1;
      if (n > 0) this.#inFlight.set(id, n);
      else this.#inFlight.delete(id);
    }
  }

  /** Rows as a transaction committed them (the cache keeps these objects: callers pass copies). */
  committed(rows: Iterable<AccountRow>): void {
    if (this.#max === 0) return;
    for (const r of rows) this.#rows.set(r.id, r);
    if (this.#rows.size > this.#max) {
      // The first cached go first (a Map iterates in insertion order); a hot account that goes is
      // locked and loaded once, then cached again.
      let excess = this.#rows.size - this.#max;
      for (const id of this.#rows.keys()) {
        if (excess-- === 0) break;
        this.#rows.delete(id);
      }
    }
  }

  /** Space left before the cache starts dropping rows. */
  get room(): number {
    return Math.max(0, this.#max - this.#rows.size);
  }

  /**
   * Rows read without a lock (warming the cache at start): kept only where the cache has no row
   * and no transaction uses the account, so a row a transaction committed is never replaced by an
   * older read. A row that is out of date by the time a plan uses it fails its check, like any other.
   */
  fill(rows: Iterable<AccountRow>): void {
    for (const r of rows) {
      if (this.#rows.size >= this.#max) return;
      if (!this.#rows.has(r.id) && !this.#inFlight.has(r.id)) this.#rows.set(r.id, r);
    }
  }

  /** A transaction that used these accounts failed: what it saw or wrote may not be stored. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.#rows.delete(id);
  }

  /** The outcome of a transaction that used cached rows: `ok` false when it had to run again. */
  outcome(ok: boolean): void {
    this.stats.checked++;
    if (!ok) this.stats.stale++;
    const w = CheckedAccountCache.WEIGHT;
    this.#waste = this.#waste * (1 - w) + (ok ? 0 : w);
    if (this.#waste > CheckedAccountCache.PAUSE_AT) {
      this.#waste = 0;
      this.#pausedFor = CheckedAccountCache.PAUSE_GROUPS;
      this.stats.pauses++;
    }
  }

  clear(): void {
    this.#rows.clear();
  }
}
