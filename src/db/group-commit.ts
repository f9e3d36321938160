import type { Step } from "./unit-of-work";

/**
 * Group commit queue: units that arrive while the event loop is busy, or while earlier groups are
 * being committed, wait here and are flushed together as one group (one transaction, one disk
 * sync). A commit costs about the same for one unit as for a hundred, so concurrent callers share
 * it. Order is kept: units are flushed in arrival order, and a group starts only while fewer than
 * `maxInFlight` groups are being committed.
 *
 * `flush` settles every unit of its group itself and never throws.
 */
export class GroupCommitQueue<U> {
  readonly #flush: (units: U[]) => Step<void>;
  readonly #maxInFlight: number;
  readonly #maxGroup: number;
  #waiting: U[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(flush: (units: U[]) => Step<void>, opts: { maxInFlight: number; maxGroup: number }) {
    this.#flush = flush;
    this.#maxInFlight = Math.max(1, opts.maxInFlight);
    this.#maxGroup = Math.max(1, opts.maxGroup);
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
      const units =
        this.#waiting.length <= this.#maxGroup ? this.#waiting : this.#waiting.slice(0, this.#maxGroup);
      this.#waiting = units === this.#waiting ? [] : this.#waiting.slice(this.#maxGroup);
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
}
