import { bytesToHex, type Hex } from "viem";
import { MerkleFrontier } from "./frontier";
import type { AnchorSource, RelayerAlarm } from "./types";

const PAGE = 10_000;

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Recomputes the tree from the ledger's events and checks it against every anchored head (and
 * against the tree store's leaf hashes, when it exposes them). Returns undefined when everything
 * agrees, else the alarm naming the first tree size that differs.
 *
 * Requires `heads` sorted by tree size. Cost: one pass over the first `max(treeSize)` entries (or
 * the whole tree, `upTo`, when tree leaves are compared too).
 */
export async function auditAgainstHeads(
  source: AnchorSource,
  heads: readonly { treeSize: number; rootHash: Hex }[],
  upTo: number,
): Promise<RelayerAlarm | undefined> {
  const lastAnchored = heads.length ? heads[heads.length - 1]!.treeSize : 0;
  if (upTo < lastAnchored) {
    return {
      kind: "log-behind-chain",
      firstBadSize: upTo + 1,
      message: `the local log has ${upTo} entries but the chain has anchored ${lastAnchored}: wrong or truncated database`,
    };
  }
  const end = source.treeLeafHashes ? upTo : lastAnchored;
  const f = new MerkleFrontier();
  let h = 0;
  let firstTreeDiff: number | undefined;
  while (f.size < end) {
    const n = Math.min(PAGE, end - f.size);
    const from = f.size;
    const ledger = await source.ledgerLeafHashes(from, n);
    const tree = source.treeLeafHashes ? await source.treeLeafHashes(from, n) : undefined;
    if (ledger.length !== n) {
      return {
        kind: "log-behind-chain",
        firstBadSize: from + ledger.length + 1,
        message: `the ledger returned ${from + ledger.length} entries where ${end} were expected`,
      };
    }
    for (let i = 0; i < n; i++) {
      const idx = from + i;
      if (firstTreeDiff === undefined && tree && (!tree[i] || !eq(tree[i]!, ledger[i]!))) firstTreeDiff = idx;
      f.push(ledger[i]!);
      while (h < heads.length && heads[h]!.treeSize === f.size) {
        const head = heads[h]!;
        const root = bytesToHex(f.root());
        if (root !== head.rootHash.toLowerCase()) {
          const prev = h > 0 ? heads[h - 1]!.treeSize : 0;
          // The altered entry lies in (prev, treeSize]; the tree store's copy pinpoints it if it differs there.
          const exact =
            firstTreeDiff !== undefined && firstTreeDiff >= prev ? firstTreeDiff + 1 : head.treeSize;
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
  if (firstTreeDiff !== undefined) {
    return {
      kind: "ledger-tree-mismatch",
      firstBadSize: firstTreeDiff + 1,
      message: `ledger entry ${firstTreeDiff} no longer matches the leaf hash in the Merkle tree store`,
    };
  }
  return undefined;
}
