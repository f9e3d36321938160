import type { Address, Hex } from "viem";
import { type SolvencyWriteClients, assetKey, writeSolvency } from "./solvency-write";

export interface AttestReservesWithSignatureParameters {
  address: Address;
  asset: string;
  dayNumber: number;
  reserves: bigint;
  statementHash: Hex;
  /** The custodian's EIP-712 signature (see signReservesAttestation). */
  signature: Hex;
}

/** Submits a custodian-signed attestation from any key (the relayer's); returns the mined tx hash. */
export async function attestReservesWithSignature(
  clients: SolvencyWriteClients,
  p: AttestReservesWithSignatureParameters,
): Promise<Hex> {
  return writeSolvency(clients, p.address, "attestReservesWithSignature", [
    assetKey(p.asset),
    p.dayNumber,
    p.reserves,
    p.statementHash,
    p.signature,
  ]);
}
