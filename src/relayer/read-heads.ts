import type { Address, Hex, PublicClient } from "viem";
import { anchorAbi } from "./abi";
import type { AnchorRecord } from "./anchor-store";

/** Reads `headCount()` from the anchor contract at the latest block. */
export async function readHeadCount(client: PublicClient, contract: Address): Promise<number> {
  const n = await client.readContract({ address: contract, abi: anchorAbi, functionName: "headCount" });
  return Number(n);
}

/**
 * Reads head `headIndex` and the `HeadAnchored` event that created it, as an anchor record (not
 * final). Throws if the event cannot be found (the head's block is being reorganised: retry later).
 */
export async function readAnchorRecord(
  client: PublicClient,
  p: { contract: Address; chainId: number; headIndex: number },
): Promise<AnchorRecord> {
  const head = await client.readContract({
    address: p.contract,
    abi: anchorAbi,
    functionName: "getHead",
    args: [BigInt(p.headIndex)],
  });
  const events = await client.getContractEvents({
    address: p.contract,
    abi: anchorAbi,
    eventName: "HeadAnchored",
    args: { headIndex: BigInt(p.headIndex) },
    fromBlock: head.blockNumber,
    toBlock: head.blockNumber,
  });
  const ev = events.find((e) => e.args.headIndex === BigInt(p.headIndex) && !e.removed);
  if (!ev || ev.blockHash === null || ev.transactionHash === null) {
    throw new Error(`HeadAnchored event of head ${p.headIndex} not found in block ${head.blockNumber}`);
  }
  return {
    headIndex: p.headIndex,
    treeSize: Number(head.treeSize),
    rootHash: head.rootHash.toLowerCase() as Hex,
    metadataHash: (ev.args.metadataHash ?? head.metadataHash).toLowerCase() as Hex,
    txHash: ev.transactionHash.toLowerCase() as Hex,
    blockNumber: Number(head.blockNumber),
    blockHash: ev.blockHash.toLowerCase() as Hex,
    blockTimestamp: Number(head.timestamp),
    chainId: p.chainId,
    contract: p.contract.toLowerCase() as Address,
    final: false,
  };
}
