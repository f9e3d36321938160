import type { Address, Hex, PublicClient } from "viem";
import type { AnchorRecord } from "../../protocol/head";
import { HeadEventNotFoundError } from "../errors";
import { custodyAnchorAbi } from "../generated/abi";

export interface ReadAnchorRecordParameters {
  contract: Address;
  chainId: number;
  headIndex: number;
}

/**
 * Head `headIndex` (`getHead`) and the `HeadAnchored` event that created it, as an anchor record
 * (not final). Throws HeadEventNotFoundError if the event is not in the head's block (the block is
 * being reorganised: retry later).
 */
export async function readAnchorRecord(
  client: PublicClient,
  p: ReadAnchorRecordParameters,
): Promise<AnchorRecord> {
  const head = await client.readContract({
    address: p.contract,
    abi: custodyAnchorAbi,
    functionName: "getHead",
    args: [BigInt(p.headIndex)],
  });
  const events = await client.getContractEvents({
    address: p.contract,
    abi: custodyAnchorAbi,
    eventName: "HeadAnchored",
    args: { headIndex: BigInt(p.headIndex) },
    fromBlock: head.blockNumber,
    toBlock: head.blockNumber,
  });
  const ev = events.find((e) => e.args.headIndex === BigInt(p.headIndex) && !e.removed);
  if (!ev || ev.blockHash === null || ev.transactionHash === null) {
    throw new HeadEventNotFoundError(
      `HeadAnchored event of head ${p.headIndex} not found in block ${head.blockNumber}`,
    );
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
