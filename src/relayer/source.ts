import { bytesToHex, type Hex } from "viem";
import type { Ledger } from "../ledger/ledger";
import { nodeHasher } from "../log/node-hasher";
import type { LogStore } from "../log/store";
import { syncLog } from "../log/sync";
import type { AnchorSource } from "./types";

/**
 * The anchor source of a real deployment: the ledger's events and the persistent tree store.
 * `sync` appends the ledger's new leaf hashes to the tree (src/log/sync.ts); audits recompute leaf
 * hashes from the events' leaf bytes, so an event rewritten in the database is noticed even if its
 * stored hash was left alone.
 *
 * @example
 * const source = logAnchorSource({ ledger, logStore: await openLogStore(db) });
 */
export function logAnchorSource(p: {
  ledger: Pick<Ledger, "leafHashes" | "getEvents" | "eventCount">;
  logStore: LogStore;
}): AnchorSource {
  const { ledger, logStore } = p;
  return {
    sync: (maxLeaves) => syncLog(ledger, logStore, { maxLeaves }),
    logSize: () => ledger.eventCount(),
    root: async (size) => bytesToHex(await logStore.root(size)),
    consistencyProof: async (a, b) =>
      (await logStore.consistencyProof(a, b)).map((h) => bytesToHex(h) as Hex),
    async entryTimestamp(index) {
      const [e] = await ledger.getEvents(index, 1);
      return e && e.sequence === index ? e.createdAt : undefined;
    },
    async ledgerLeafHashes(from, limit) {
      return (await ledger.getEvents(from, limit)).map((e) => nodeHasher.hashLeaf(e.leafBytes));
    },
    async treeLeafHashes(from, limit) {
      const size = await logStore.size();
      const out: Uint8Array[] = [];
      for (let i = from; i < Math.min(from + limit, size); i++) out.push(await logStore.leafHash(i));
      return out;
    },
  };
}
