import type { LeaderLease } from "../db/lease";
import { logReaderOf, type LogReader } from "./reader";
import type { LogStore } from "./store";
import { type LeafSource, syncLog } from "./sync";

/** Receives the integrator's loop failures (the next round retries). */
export type IntegratorErrorHandler = (err: unknown) => void;

export interface CreateLogIntegratorParameters {
  /** Where committed leaf hashes come from (the ledger's event table). */
  source: LeafSource;
  store: LogStore;
  /** Pause of the background loop between rounds when nothing nudged it; default 200 ms. */
  intervalMs?: number;
  /** Leaves appended per store transaction; default 10 000. */
  batchSize?: number;
  /**
   * Most leaves one round appends; default 50 000. Under steady load the ledger never runs dry,
   * so an unbounded round would hold up whoever waits on it (the relayer) for as long as the load lasts.
   */
  maxLeavesPerRound?: number;
  onError?: IntegratorErrorHandler;
  /**
   * Several processes on one store (PostgreSQL): the background loop runs its rounds only while
   * this lease is held, so one process appends and the others do not race it for every round
   * (the loser of a round re-reads and repeats it). `integrate()` called directly always runs.
   */
  lease?: Pick<LeaderLease, "tryAcquire" | "release">;
}

/**
 * The one writer of the Merkle tree: it appends the ledger's committed leaves to the log store,
 * in order. Everyone else holds `reader` (read-only). Rounds never overlap: `integrate()` while a
 * round runs waits for it and then runs once more, so a caller that saw a commit finish is covered.
 */
export interface LogIntegrator {
  readonly reader: LogReader;
  /** Appends what was committed so far (at most maxLeavesPerRound); resolves with the new tree size. */
  integrate(): Promise<number>;
  /** Asks the loop for a round soon (e.g. after a ledger commit); never waits, never throws. */
  nudge(): void;
  /** Starts the background loop (idempotent). */
  start(): void;
  /** Stops the loop and waits for the current round. */
  stop(): Promise<void>;
}

/**
 * @example
 * const integrator = createLogIntegrator({ source: ledger, store: await openLogStore(db) });
 * integrator.start();
 * const api = createApiApp({ ledger, log: integrator.reader, ... });
 */
export function createLogIntegrator(p: CreateLogIntegratorParameters): LogIntegrator {
  const intervalMs = p.intervalMs ?? 200;
  const reader = logReaderOf(p.store);
  let running: Promise<number> | undefined;
  let again: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const maxLeaves = p.maxLeavesPerRound ?? 50_000;
  const round = () => syncLog(p.source, p.store, { batchSize: p.batchSize, maxLeaves });
  function integrate(): Promise<number> {
    if (!running) {
      running = round().finally(() => (running = undefined));
      return running;
    }
    // A round is under way and may have read the source before the caller's commit: queue one more.
    again ??= running
      .catch(() => undefined)
      .then(() => {
        again = undefined;
        return integrate();
      });
    return again;
  }

  async function run(): Promise<void> {
    while (started) {
      try {
        if (!p.lease || (await p.lease.tryAcquire())) await integrate();
      } catch (err) {
        p.onError?.(err);
      }
      if (!started) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
        timer.unref?.();
      });
      wake = undefined;
    }
  }

  return {
    reader,
    integrate,
    nudge: () => wake?.(),
    start() {
      if (started) return;
      started = true;
      loop = run();
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
      await running?.catch(() => undefined);
      await p.lease?.release();
    },
  };
}
