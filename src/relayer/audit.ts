import type { Hex } from "viem";
import { streamedRoots, walkHeads } from "../log/head-walk";
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
  const { stop } = await walkHeads(
    streamedRoots((from, n) => source.ledgerLeafHashes(from, n), lastAnchored, PAGE),
    heads,
  );
  if (stop)
    switch (stop.reason) {
      case "behind":
        return {
          kind: "log-behind-chain",
          firstBadSize: stop.available + 1,
          message: `the ledger returned ${stop.available} entries where ${lastAnchored} are anchored`,
        };
      case "root": {
        const { head, prevSize, recomputed } = stop;
        // The altered entry lies in [prevSize, treeSize); the tree store's copy pinpoints it if it still differs.
        const i = await firstLeafDiff(source, prevSize, head.treeSize);
        const exact = i !== undefined ? i + 1 : head.treeSize;
        return {
          kind: "log-mismatch",
          firstBadSize: exact,
          message:
            `the ledger's entries no longer hash to the root anchored at tree size ${head.treeSize} ` +
            `(anchored ${head.rootHash}, recomputed ${recomputed}); first differing tree size ${exact}`,
        };
      }
      default:
        // The contract only accepts strictly increasing sizes; a list that is not is not the chain's.
        return {
          kind: "log-mismatch",
          firstBadSize: stop.head.treeSize,
          message: `anchored heads out of order: tree size ${stop.head.treeSize} follows a larger or equal size`,
        };
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
