import { stringToHex, type Address, type Hex, type LocalAccount } from "viem";

export interface SignReservesAttestationParameters {
  /** The CustodySolvency the signature is for (EIP-712 domain). */
  address: Address;
  chainId: number;
  asset: string;
  dayNumber: number;
  reserves: bigint;
  statementHash: Hex;
}

/** The EIP-712 types of a custodian's attestation (docs/contracts-v1.md §CustodySolvency). */
export const RESERVES_ATTESTATION_TYPES = {
  ReservesAttestation: [
    { name: "asset", type: "bytes32" },
    { name: "day", type: "uint32" },
    { name: "reserves", type: "uint128" },
    { name: "statementHash", type: "bytes32" },
  ],
} as const;

/** The custodian signs its attestation off chain; anyone (the relayer) submits it. */
export async function signReservesAttestation(
  custodian: LocalAccount,
  p: SignReservesAttestationParameters,
): Promise<Hex> {
  return custodian.signTypedData({
    domain: { name: "CustodySolvency", version: "1", chainId: p.chainId, verifyingContract: p.address },
    types: RESERVES_ATTESTATION_TYPES,
    primaryType: "ReservesAttestation",
    message: {
      asset: stringToHex(p.asset, { size: 32 }),
      day: p.dayNumber,
      reserves: p.reserves,
      statementHash: p.statementHash,
    },
  });
}
