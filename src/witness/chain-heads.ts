import type { Address, PublicClient } from "viem";
import { readHead } from "../chain/actions/read-head";
import { readHeadCovering } from "../chain/actions/read-head-covering";
import { readAnchorCosigner } from "../chain/actions/read-anchor-cosigner";
import { readLatestHead } from "../chain/actions/read-latest-head";
import type { AnchorChainView, AnchoredHeadLookup } from "./witness";

/**
 * Looks a tree size up in the anchor contract: the first head covering leaf size-1 is the only one
 * that can have exactly that size (sizes strictly increase).
 */
export function chainHeadLookup(client: PublicClient, anchor: Address): AnchoredHeadLookup {
  return async (treeSize) => {
    const index = await readHeadCovering(client, anchor, treeSize - 1);
    if (index === undefined) return undefined;
    const head = await readHead(client, anchor, index);
    return head.treeSize === treeSize ? { rootHash: head.rootHash } : undefined;
  };
}

/** The chain reads of the anchor cosigner: the latest head and the contract's cosigner (read once). */
export function anchorChainView(client: PublicClient, anchor: Address): AnchorChainView {
  let cosigner: Promise<Address> | undefined;
  return {
    latestHead: () => readLatestHead(client, anchor),
    cosigner: () => {
      // Immutable in the contract: one read is enough (a failed read is retried next time).
      cosigner ??= readAnchorCosigner(client, anchor).catch((e) => {
        cosigner = undefined;
        throw e;
      });
      return cosigner;
    },
  };
}
