/**
 * The custodian's cosignature of an anchored head: an EIP-712 signature that CustodyAnchor
 * `anchorCosigned` checks when the contract was deployed with a cosigner (docs/contracts-v1.md).
 * The digest must match the contract's `cosignatureDigest`; test/vectors/anchor-cosignature-v1.json
 * is checked by both sides.
 */
import { getAddress, hashTypedData, isAddress, isHex, type Address, type Hex } from "viem";
import { AnchorCosignatureFormatError } from "./errors";

export const ANCHOR_COSIGNATURE_DOMAIN_NAME = "CustodyAnchor";
export const ANCHOR_COSIGNATURE_DOMAIN_VERSION = "1";

export const ANCHOR_COSIGNATURE_TYPES = {
  AnchorCosignature: [
    { name: "headIndex", type: "uint256" },
    { name: "previousSize", type: "uint64" },
    { name: "newSize", type: "uint64" },
    { name: "newRoot", type: "bytes32" },
    { name: "metadataHash", type: "bytes32" },
  ],
} as const;

/** What the cosigner approves: head `headIndex` of `newSize` leaves after a head of `previousSize`. */
export interface AnchorCosignatureMessage {
  chainId: number;
  /** The CustodyAnchor contract. */
  contract: Address;
  headIndex: bigint;
  /** Tree size of the latest anchored head (0 before the first head). */
  previousSize: bigint;
  newSize: bigint;
  newRoot: Hex;
  metadataHash: Hex;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** Checks the message's fields; throws {@link ProtocolError} naming the first bad one. */
export function validateAnchorCosignatureMessage(m: AnchorCosignatureMessage): void {
  const fail = (field: string, why: string): never => {
    throw new AnchorCosignatureFormatError(`anchor cosignature: ${field} ${why}`);
  };
  if (!Number.isSafeInteger(m.chainId) || m.chainId <= 0) fail("chainId", "must be a positive integer");
  if (!isAddress(m.contract, { strict: false })) fail("contract", "must be an address");
  if (typeof m.headIndex !== "bigint" || m.headIndex < 0n) fail("headIndex", "must be a bigint >= 0");
  for (const f of ["previousSize", "newSize"] as const) {
    const v = m[f];
    if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX) fail(f, "must be a uint64 bigint");
  }
  if (m.newSize <= m.previousSize) fail("newSize", "must exceed previousSize");
  for (const f of ["newRoot", "metadataHash"] as const) {
    if (!isHex(m[f], { strict: true }) || m[f].length !== 66) fail(f, "must be 32 bytes of hex");
  }
}

/** The arguments of viem's `signTypedData` / `hashTypedData` for `m`. */
export function anchorCosignatureTypedData(m: AnchorCosignatureMessage) {
  validateAnchorCosignatureMessage(m);
  return {
    domain: {
      name: ANCHOR_COSIGNATURE_DOMAIN_NAME,
      version: ANCHOR_COSIGNATURE_DOMAIN_VERSION,
      chainId: m.chainId,
      verifyingContract: getAddress(m.contract),
    },
    types: ANCHOR_COSIGNATURE_TYPES,
    primaryType: "AnchorCosignature" as const,
    message: {
      headIndex: m.headIndex,
      previousSize: m.previousSize,
      newSize: m.newSize,
      newRoot: m.newRoot,
      metadataHash: m.metadataHash,
    },
  };
}

/** The EIP-712 digest of `m` (what CustodyAnchor `cosignatureDigest` returns). */
export function anchorCosignatureDigest(m: AnchorCosignatureMessage): Hex {
  return hashTypedData(anchorCosignatureTypedData(m));
}
