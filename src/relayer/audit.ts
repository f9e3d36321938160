import { bytesToHex, type Hex } from "viem";
import { MerkleFrontier } from "../log/frontier";
import type { AnchorSource, RelayerAlarm } from "./types";

const PAGE = 10_000;

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First index in [from, to) where the ledger's recomputed leaf hash differs from the tree's copy. */
async function firstLeafDiff(source: AnchorSource, from: number, to: number): Promise<number | undefined> {
  if (!source.treeLeafHashes) return undefined;
  for (let at = from; at < to; at += PAGE) {
    const n = Math.min(PAGE, to - at);
    const [ledger, tree] = await Promise.all([source.ledgerLeafHashes(at, n), source.treeLeafHashes(at, n)]);
    for (let i = 0; i < n; i++) if (!ledger[i] || !tree[i] || !eq(ledger[i]!, tree[i]!)) return at + i;
  }
  return undefined;
}

/**
 * Recomputes the tree from the ledger's events and checks it against every anchored head, then
 * checks the not-yet-anchored suffix against the tree store. Returns undefined when everything
 * agrees, else the alarm naming the first tree size that differs: exactly (entry index + 1) when
 * the tree store still holds the original leaf hash, else the first anchored size whose root differs.
 *
 * Requires `heads` sorted by tree size. Cost: one pass over the anchored entries.
 */
export async function auditAgainstHeads(
  source: AnchorSource,
  heads: readonly { treeSize: number; rootHash: Hex }[],
  treeSize: number,
): Promise<RelayerAlarm | undefined> {
  const lastAnchored = heads.length ? heads[heads.length - 1]!.treeSize : 0;
  if (treeSize < lastAnchored) {
    return {
      kind: "log-behind-chain",
      firstBadSize: treeSize + 1,
      message: `the local log has ${treeSize} entries but the chain has anchored ${lastAnchored}: wrong or truncated database`,
    };
  }
  const f = new MerkleFrontier();
  let h = 0;
  while (f.size < lastAnchored) {
    const from = f.size;
    const n = Math.min(PAGE, lastAnchored - from);
    const page = await source.ledgerLeafHashes(from, n);
    if (page.length !== n) {
      return {
        kind: "log-behind-chain",
        firstBadSize: from + page.length + 1,
        message: `the ledger returned ${from + page.length} entries where ${lastAnchored} are anchored`,
      };
    }
    for (const leaf of page) {
      f.push(leaf);
      while (h < heads.length && heads[h]!.treeSize === f.size) {
        const head = heads[h]!;
        const root = bytesToHex(f.root());
        if (root !== head.rootHash.toLowerCase()) {
          const prev = h > 0 ? heads[h - 1]!.treeSize : 0;
          // The altered entry lies in [prev, treeSize); the tree store's copy pinpoints it if it still differs.
          const i = await firstLeafDiff(source, prev, head.treeSize);
          const exact = i !== undefined ? i + 1 : head.treeSize;
          return {
            kind: "log-mismatch",
            firstBadSize: exact,
            message:
              `the ledger's entries no longer hash to the root anchored at tree size ${head.treeSize} ` +
              `(anchored ${head.rootHash}, recomputed ${root}); first differing tree size ${exact}`,
          };
        }
        h++;
      }
    }
  }
  const i = await firstLeafDiff(source, lastAnchored, treeSize);
  if (i !== undefined) {
    return {
      kind: "ledger-tree-mismatch",
      firstBadSize: i + 1,
      message: `ledger entry ${i} no longer matches its leaf hash in the Merkle tree store`,
    };
  }
  return undefined;
}
