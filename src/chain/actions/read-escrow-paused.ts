import type { Address, PublicClient } from "viem";
import { custodyEscrowAbi } from "../generated/abi";

/** Whether the CustodyEscrow at `address` is paused (no escrow can be created, decided or settled). */
export async function readEscrowPaused(client: PublicClient, address: Address): Promise<boolean> {
  return client.readContract({ address, abi: custodyEscrowAbi, functionName: "paused" });
}
