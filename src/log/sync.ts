import type { LogStore } from "./store";
import { LogAppendConflictError, LogArgumentError } from "./errors";

/** Where leaf hashes come from (the ledger's event table). The log never imports the ledger. */
export interface LeafSource {
  /** Up to `limit` leaf hashes starting at position `fromIndex`, in order; fewer (or none) at the end. */
  leafHashes(fromIndex: number, limit: number): Promise<Uint8Array[]>;
}

/**
 * Appends to the store what the source has beyond store.size(), in batches, and returns the new
 * size: everything the source had when it was last read (a read shorter than asked ends the call,
 * so leaves committed meanwhile wait for the next call instead of a store transaction each). With
 * `maxLeaves` it stops once that many leaves were appended, so a caller that must act on what it
 * has (the relayer) is never held up by a source that keeps growing. Safe to run from several
 * processes: a batch that lost a race (LogAppendConflictError) is re-read from the new size.
 *
 * @example
 * const size = await syncLog({ leafHashes: (from, limit) => ledger.leafHashes(from, limit) }, store);
 */
export async function syncLog(
  source: LeafSource,
  store: LogStore,
  opts: { batchSize?: number; maxLeaves?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 10_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new LogArgumentError("batchSize must be >= 1");
  const maxLeaves = opts.maxLeaves ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxLeaves) || maxLeaves < 1) throw new LogArgumentError("maxLeaves must be >= 1");
  let size = await store.size();
  const end = size + maxLeaves;
  for (;;) {
    const want = Math.min(batchSize, end - size);
    if (want <= 0) return size;
    const batch = await source.leafHashes(size, want);
    if (batch.length === 0) return size;
    try {
      size = await store.append(size, batch.slice(0, want));
    } catch (e) {
      if (!(e instanceof LogAppendConflictError)) throw e;
      size = await store.size();
      continue;
    }
    // A short read reached the source's end: what was committed after it is the next call's.
    // Chasing it would append a few leaves per store transaction under steady load.
    if (batch.length < want) return size;
  }
}
