import type { Address, Hex } from "viem";
import { type SolvencyWriteClients, assetKey, writeSolvency } from "./solvency-write";

export interface AttestReservesParameters {
  address: Address;
  asset: string;
  /** Days since 1970-01-01 (UTC). */
  dayNumber: number;
  reserves: bigint;
  /** SHA-256 of the bank statement the closing balance comes from. */
  statementHash: Hex;
}
export type AttestReservesReturnType = Hex;

/** CustodySolvency.attestReserves from the custodian's own CUSTODIAN_ROLE key; returns the mined tx hash. */
export async function attestReserves(
  clients: SolvencyWriteClients,
  p: AttestReservesParameters,
): Promise<AttestReservesReturnType> {
  return writeSolvency(clients, p.address, "attestReserves", [
    assetKey(p.asset),
    p.dayNumber,
    p.reserves,
    p.statementHash,
  ]);
}
