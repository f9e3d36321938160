import type { Database } from "../db/database";
import { openLogStore, type LogStore, type OpenLogStoreOptions } from "./store";

export { logMigrations } from "./store";

/**
 * Read-only access to the log: everyone but the integrator (src/log/integrator.ts) holds one of
 * these, so nothing else can append. Hashes are 32-byte arrays.
 */
export interface LogReader {
  /** Number of leaves integrated so far. */
  size(): Promise<number>;
  /** RFC 9162 root of the first `size` leaves (default: all); size 0 = the empty root. */
  root(size?: number): Promise<Uint8Array>;
  /** Requires index < size(). */
  leafHash(index: number): Promise<Uint8Array>;
  /** Up to `limit` leaf hashes from position `from`, in order; fewer at the end of the log. */
  leafHashes(from: number, limit: number): Promise<Uint8Array[]>;
  /** Requires leafIndex < treeSize <= size(). */
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  /** Requires 1 <= size1 <= size2 <= size(). */
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
  /** Index of a leaf hash (the first, if repeated), or undefined. */
  findLeaf(leafHash: Uint8Array): Promise<number | undefined>;
  /** `count` node hashes of one level back to back (tlog tiles); see LogStore.nodeHashes. */
  nodeHashes(level: number, start: number, count: number): Promise<Uint8Array>;
}

/**
 * The read-only face of a store: the returned object has no `append`, so a holder cannot write
 * even by a cast.
 */
export function logReaderOf(store: LogStore): LogReader {
  return {
    size: () => store.size(),
    root: (size) => store.root(size),
    leafHash: (index) => store.leafHash(index),
    leafHashes: (from, limit) => store.leafHashes(from, limit),
    inclusionProof: (leafIndex, treeSize) => store.inclusionProof(leafIndex, treeSize),
    consistencyProof: (size1, size2) => store.consistencyProof(size1, size2),
    findLeaf: (leafHash) => store.findLeaf(leafHash),
    nodeHashes: (level, start, count) => store.nodeHashes(level, start, count),
  };
}

/**
 * A reader over the log store in `db` (applies the log's migrations, like openLogStore). For
 * processes that only read: the API of another instance, the audit, tools.
 */
export async function openLogReader(db: Database, opts: OpenLogStoreOptions = {}): Promise<LogReader> {
  return logReaderOf(await openLogStore(db, opts));
}
