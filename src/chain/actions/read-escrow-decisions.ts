import type { Address, Hex, PublicClient } from "viem";
import { custodyEscrowAbi } from "../generated/abi";

/** An escrow decided on chain: released to the payee or refunded to the payer. */
export interface EscrowDecision {
  kind: "release" | "refund";
  escrowId: Hex;
  blockNumber: number;
  /** `<txHash>:<logIndex>`, lower-case: unique per event, so a replay can be recognised. */
  chainEventId: string;
}

/**
 * `EscrowReleased` / `EscrowRefunded` events of the CustodyEscrow at `address` in blocks
 * [fromBlock, toBlock], in chain order.
 */
export async function readEscrowDecisions(
  client: PublicClient,
  address: Address,
  range: { fromBlock: number; toBlock: number },
): Promise<EscrowDecision[]> {
  const logs = await client.getContractEvents({
    address,
    abi: custodyEscrowAbi,
    fromBlock: BigInt(range.fromBlock),
    toBlock: BigInt(range.toBlock),
  });
  logs.sort((a, b) => Number(a.blockNumber! - b.blockNumber!) || a.logIndex! - b.logIndex!);
  const out: EscrowDecision[] = [];
  for (const ev of logs) {
    if (ev.eventName !== "EscrowReleased" && ev.eventName !== "EscrowRefunded") continue;
    out.push({
      kind: ev.eventName === "EscrowReleased" ? "release" : "refund",
      escrowId: (ev.args as { escrowId: Hex }).escrowId.toLowerCase() as Hex,
      blockNumber: Number(ev.blockNumber),
      chainEventId: `${ev.transactionHash!.toLowerCase()}:${ev.logIndex}`,
    });
  }
  return out;
}

/**
 * The `EscrowReleased` (kind "release") or `EscrowRefunded` (kind "refund") event of one escrow in
 * blocks [fromBlock, toBlock], searched newest range first, `maxBlockRange` blocks per query (the
 * escrow id is an indexed topic, so each query returns at most the events of that escrow). Undefined
 * if there is none in the range.
 */
export async function findEscrowDecision(
  client: PublicClient,
  address: Address,
  escrowId: Hex,
  kind: EscrowDecision["kind"],
  range: { fromBlock: number; toBlock: number; maxBlockRange?: number },
): Promise<EscrowDecision | undefined> {
  const step = Math.max(1, range.maxBlockRange ?? 2000);
  for (let to = range.toBlock; to >= range.fromBlock; to -= step) {
    const from = Math.max(range.fromBlock, to - step + 1);
    const logs = await client.getContractEvents({
      address,
      abi: custodyEscrowAbi,
      eventName: kind === "release" ? "EscrowReleased" : "EscrowRefunded",
      args: { escrowId },
      fromBlock: BigInt(from),
      toBlock: BigInt(to),
    });
    const ev = logs.sort((a, b) => Number(b.blockNumber! - a.blockNumber!) || b.logIndex! - a.logIndex!)[0];
    if (ev)
      return {
        kind,
        escrowId: escrowId.toLowerCase() as Hex,
        blockNumber: Number(ev.blockNumber),
        chainEventId: `${ev.transactionHash!.toLowerCase()}:${ev.logIndex}`,
      };
  }
  return undefined;
}
