import type { Address, PublicClient } from "viem";
import { readHead } from "../chain/actions/read-head";
import { readHeadCovering } from "../chain/actions/read-head-covering";
import type { AnchoredHeadLookup } from "./witness";

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
