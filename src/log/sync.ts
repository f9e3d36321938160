import type { LogStore } from "./store";
import { LogAppendConflictError, LogArgumentError } from "./errors";

/** Where leaf hashes come from (the ledger's event table). The log never imports the ledger. */
export interface LeafSource {
  /** Up to `limit` leaf hashes starting at position `fromIndex`, in order; fewer (or none) at the end. */
  leafHashes(fromIndex: number, limit: number): Promise<Uint8Array[]>;
}

/**
 * Appends to the store whatever the source has beyond store.size(), in batches; returns the new
 * size. Safe to run from several processes: a batch that lost a race (LogAppendConflictError) is
 * re-read from the new size.
 *
 * @example
 * const size = await syncLog({ leafHashes: (from, limit) => ledger.leafHashes(from, limit) }, store);
 */
export async function syncLog(
  source: LeafSource,
  store: LogStore,
  opts: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 10_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new LogArgumentError("batchSize must be >= 1");
  let size = await store.size();
  for (;;) {
    const batch = await source.leafHashes(size, batchSize);
    if (batch.length === 0) return size;
    try {
      size = await store.append(size, batch.slice(0, batchSize));
    } catch (e) {
      if (!(e instanceof LogAppendConflictError)) throw e;
      size = await store.size();
    }
  }
}
