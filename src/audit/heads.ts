import type { AnchoredHead } from "../protocol/head";
import { toHex } from "../log/hex";
import { nodeHasher } from "../log/node-hasher";
import type { MemoryTree } from "../log/tree";
import { verifyConsistency } from "../log/verify";
import { walkHeads } from "../log/head-walk";
import type { FindingList } from "./findings";

/**
 * Where the exact altered leaf can be looked up once a head's root no longer matches: a copy of the
 * tree (the log store) that is trusted only after its own root at that size matches the chain.
 */
export interface LeafHashReference {
  size(): Promise<number>;
  root(size: number): Promise<Uint8Array>;
  leafHash(index: number): Promise<Uint8Array>;
}

export interface HeadCheckResult {
  /** Heads whose root was recomputed and matched. */
  verified: number;
  /** Consecutive pairs whose RFC 9162 consistency proof (built from the rebuilt tree) verified. */
  consistent: number;
  /** Size covered by the last verified head (0 if none). */
  verifiedSize: number;
}

/**
 * Checks every anchored head against the tree rebuilt from the events: sizes strictly increase,
 * the root at each head's size equals the anchored root, and consecutive heads are consistent
 * (RFC 9162 consistency proof from the rebuilt tree verified against the two anchored roots).
 * Stops at the first head that fails: later heads then fail too, and the first is what matters.
 * Requires `heads` in head-index order.
 */
export async function checkHeads(
  tree: MemoryTree,
  heads: readonly AnchoredHead[],
  findings: FindingList,
  reference?: LeafHashReference,
): Promise<HeadCheckResult> {
  const roots = {
    rootAt: async (size: number) => (size > tree.size ? { short: tree.size } : tree.root(size)),
  };
  const walk = await walkHeads(roots, heads, (prev, h) =>
    verifyConsistency(
      {
        size1: prev.treeSize,
        size2: h.treeSize,
        root1: prev.rootHash,
        root2: h.rootHash,
        proof: tree.consistencyProof(prev.treeSize, h.treeSize),
      },
      nodeHasher,
    ),
  );
  const { verified, consistent, verifiedSize, stop } = walk;
  if (stop) {
    const h = stop.head;
    const at = { headIndex: h.headIndex, treeSize: h.treeSize };
    switch (stop.reason) {
      case "order":
        findings.add({
          check: "head_order",
          message: `head ${h.headIndex} has tree size ${h.treeSize}, not above the previous ${stop.prevSize}`,
          ...at,
        });
        break;
      case "behind":
        findings.add({
          check: "log_behind_chain",
          message: `head ${h.headIndex} covers ${h.treeSize} events but the log holds ${tree.size}: events were deleted`,
          ...at,
          index: tree.size,
        });
        break;
      case "root": {
        const exact = reference ? await pinpoint(tree, h, stop.prevSize, reference) : undefined;
        findings.add({
          check: "head_root",
          message:
            `head ${h.headIndex}: the events no longer hash to the anchored root at tree size ${h.treeSize} ` +
            `(anchored ${h.rootHash}, recomputed ${stop.recomputed}); ` +
            (exact === undefined
              ? `the altered event lies in [${stop.prevSize}, ${h.treeSize})`
              : `event ${exact} differs from the anchored tree`),
          ...at,
          ...(exact === undefined ? {} : { index: exact }),
        });
        break;
      }
      case "consistency":
        findings.add({
          check: "head_consistency",
          message: `heads ${stop.prev.headIndex} and ${h.headIndex} are not consistent: ${stop.error.message.split("\n")[0]}`,
          ...at,
        });
        break;
    }
  }
  return { verified, consistent, verifiedSize };
}

/** The first index in [from, head.treeSize) where the rebuilt tree departs from a reference proven by the head. */
async function pinpoint(
  tree: MemoryTree,
  head: AnchoredHead,
  from: number,
  ref: LeafHashReference,
): Promise<number | undefined> {
  try {
    if ((await ref.size()) < head.treeSize) return undefined;
    if (toHex(await ref.root(head.treeSize)) !== head.rootHash.toLowerCase()) return undefined;
    for (let i = from; i < head.treeSize; i++)
      if (toHex(await ref.leafHash(i)) !== toHex(tree.leafHash(i))) return i;
  } catch {
    return undefined; // the reference is only a hint
  }
  return undefined;
}
