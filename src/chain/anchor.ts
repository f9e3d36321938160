import { type Address, type Hex, type PublicClient } from "viem";
import { custodyAnchorAbi } from "./generated/abi";

/** An anchored head as stored on chain (numbers are safe: sizes < 2^53). */
export interface AnchoredHead {
  headIndex: number;
  rootHash: Hex;
  treeSize: number;
  /** Block time of the anchor, seconds since the Unix epoch. */
  timestamp: number;
  blockNumber: number;
}

type RawHead = { rootHash: Hex; treeSize: bigint; timestamp: bigint; blockNumber: bigint };

function toHead(headIndex: bigint | number, h: RawHead): AnchoredHead {
  return {
    headIndex: Number(headIndex),
    rootHash: h.rootHash.toLowerCase() as Hex,
    treeSize: Number(h.treeSize),
    timestamp: Number(h.timestamp),
    blockNumber: Number(h.blockNumber),
  };
}

/** Number of heads anchored in the CustodyAnchor at `address`. */
export async function readHeadCount(client: PublicClient, address: Address): Promise<number> {
  return Number(await client.readContract({ address, abi: custodyAnchorAbi, functionName: "headCount" }));
}

/** Head `headIndex`; reverts (CustodyAnchorUnknownHead) if it does not exist. */
export async function readHead(
  client: PublicClient,
  address: Address,
  headIndex: number,
): Promise<AnchoredHead> {
  const h = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "getHead",
    args: [BigInt(headIndex)],
  });
  return toHead(headIndex, h);
}

/** The latest head, or undefined when none is anchored yet. */
export async function readLatestHead(
  client: PublicClient,
  address: Address,
): Promise<AnchoredHead | undefined> {
  if ((await readHeadCount(client, address)) === 0) return undefined;
  const [index, h] = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "latestHead",
  });
  return toHead(index, h);
}

/** Index of the first head covering leaf `leafIndex`, or undefined when no head covers it yet. */
export async function readHeadCovering(
  client: PublicClient,
  address: Address,
  leafIndex: number,
): Promise<number | undefined> {
  const latest = await readLatestHead(client, address);
  if (!latest || leafIndex >= latest.treeSize) return undefined;
  const index = await client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "headCovering",
    args: [BigInt(leafIndex)],
  });
  return Number(index);
}

/** On-chain RFC 9162 inclusion check (a plain eth_call). */
export async function verifyInclusionOnChain(
  client: PublicClient,
  address: Address,
  params: { headIndex: number; leafIndex: number; leafHash: Hex; proof: readonly Hex[] },
): Promise<boolean> {
  return client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "verifyInclusion",
    args: [BigInt(params.headIndex), BigInt(params.leafIndex), params.leafHash, params.proof],
  });
}

/** On-chain RFC 9162 consistency check between two anchored heads (a plain eth_call). */
export async function verifyConsistencyOnChain(
  client: PublicClient,
  address: Address,
  params: { fromHeadIndex: number; toHeadIndex: number; proof: readonly Hex[] },
): Promise<boolean> {
  return client.readContract({
    address,
    abi: custodyAnchorAbi,
    functionName: "verifyConsistency",
    args: [BigInt(params.fromHeadIndex), BigInt(params.toHeadIndex), params.proof],
  });
}
