import type { Step } from "./unit-of-work";

/**
 * Group commit queue: units that arrive while the event loop is busy, or while earlier groups are
 * being committed, wait here and are flushed together as one group (one transaction, one disk
 * sync). A commit costs about the same for one unit as for a hundred, so concurrent callers share
 * it. Order is kept: units are flushed in arrival order, and a group starts only while fewer than
 * `maxInFlight` groups are being committed.
 *
 * With `splitMin`, units waiting while two or more group slots are free are split into two groups
 * that share no key (`conflicts`: the rows a unit locks, the ids it writes), each of at least
 * `splitMin` units, so one group is in the database while Node plans the other, and neither waits
 * for the other's row locks; units that share a key stay in one group, in arrival order. Without
 * it, callers that were answered together come back together and form one group again, and the
 * database and Node take turns idling. Split groups start together: between them no order is
 * promised (their callers were all waiting at once). Also with `splitMin`, fewer than `splitMin`
 * units never start a group beside one in flight: they wait for it to end and go as the next group,
 * since a group's fixed cost (round trips, planning, the commit's flush) is most of a small group's.
 *
 * `flush` settles every unit of its group itself and never throws.
 */
export class GroupCommitQueue<U> {
  readonly #flush: (units: U[]) => Step<void>;
  readonly #maxInFlight: number;
  readonly #maxGroup: number;
  readonly #splitMin: number;
  readonly #conflicts: (unit: U) => Iterable<unknown>;
  #waiting: U[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(
    flush: (units: U[]) => Step<void>,
    opts: {
      maxInFlight: number;
      maxGroup: number;
      splitMin?: number;
      conflicts?: (unit: U) => Iterable<unknown>;
    },
  ) {
    this.#flush = flush;
    this.#maxInFlight = Math.max(1, opts.maxInFlight);
    this.#maxGroup = Math.max(1, opts.maxGroup);
    this.#splitMin = Math.max(1, opts.splitMin ?? Infinity);
    this.#conflicts = opts.conflicts ?? (() => []);
  }

  push(unit: U): void {
    this.#waiting.push(unit);
    if (!this.#scheduled && this.#inFlight < this.#maxInFlight) {
      // The next turn: callers that are running now join the group.
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#start();
      });
    }
  }

  #start(): void {
    while (this.#waiting.length && this.#inFlight < this.#maxInFlight) {
      // Beside a group in flight, a new one starts only with enough units to be worth its fixed
      // cost; fewer wait for the group in flight to end and join the next (larger) group.
      if (this.#inFlight > 0 && this.#splitMin !== Infinity && this.#waiting.length < this.#splitMin) return;
      const units = this.#take();
      this.#inFlight++;
      const done = this.#flush(units);
      if (done instanceof Promise) {
        const next = () => {
          this.#inFlight--;
          // What queued meanwhile goes next, as one group.
          this.#start();
        };
        done.then(next, next);
      } else this.#inFlight--;
    }
  }

  /** The next group: half of the waiting units when they split well (see the class), else the first `maxGroup`. */
  #take(): U[] {
    const w = this.#waiting;
    if (this.#maxInFlight - this.#inFlight >= 2 && w.length >= 2 * this.#splitMin) {
      const limit = Math.min(w.length, 2 * this.#maxGroup);
      const target = Math.ceil(limit / 2);
      const a: U[] = [];
      const b: U[] = [];
      const keysA = new Set<unknown>();
      const keysB = new Set<unknown>();
      for (let i = 0; i < limit; i++) {
        const keys = [...this.#conflicts(w[i])];
        const inA = keys.some((k) => keysA.has(k));
        const inB = !inA && keys.some((k) => keysB.has(k));
        // A unit sharing keys with both goes with A: it waits for B's locks, nothing worse.
        const toA = inA || (!inB && a.length < target);
        (toA ? a : b).push(w[i]);
        for (const k of keys) (toA ? keysA : keysB).add(k);
      }
      if (a.length >= this.#splitMin && b.length >= this.#splitMin && a.length <= this.#maxGroup) {
        this.#waiting = limit === w.length ? b : b.concat(w.slice(limit));
        return a;
      }
    }
    if (w.length <= this.#maxGroup) {
      this.#waiting = [];
      return w;
    }
    this.#waiting = w.slice(this.#maxGroup);
    return w.slice(0, this.#maxGroup);
  }
}
