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

/**
 * Body of a witness's `POST /anchor-cosignature` (JSON): the log-signed checkpoint of the head to
 * anchor next, the size of the head anchored on chain now (`oldSize`) and the consistency proof from
 * it, and the metadata hash the anchor will carry.
 */
export interface AnchorCosignatureRequest {
  oldSize: number;
  proof: Hex[];
  /** The signed checkpoint note (log key), verbatim. */
  checkpoint: string;
  metadataHash: Hex;
}

/** The witness's answer: the message it signed and its 65-byte signature (r ‖ s ‖ v). */
export interface AnchorCosignatureResponse {
  chainId: number;
  contract: Address;
  headIndex: string;
  previousSize: string;
  newSize: string;
  newRoot: Hex;
  metadataHash: Hex;
  signer: Address;
  signature: Hex;
}

const HASH = /^0x[0-9a-f]{64}$/;

export function formatAnchorCosignatureRequest(r: AnchorCosignatureRequest): string {
  return JSON.stringify({
    oldSize: r.oldSize,
    proof: r.proof.map((h) => h.toLowerCase()),
    checkpoint: r.checkpoint,
    metadataHash: r.metadataHash.toLowerCase(),
  });
}

/** Parses and checks a request body; throws {@link AnchorCosignatureFormatError}. */
export function parseAnchorCosignatureRequest(body: string): AnchorCosignatureRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new AnchorCosignatureFormatError("anchor cosignature request is not JSON");
  }
  const r = raw as Partial<Record<keyof AnchorCosignatureRequest, unknown>>;
  if (typeof r !== "object" || r === null)
    throw new AnchorCosignatureFormatError("anchor cosignature request must be a JSON object");
  if (typeof r.oldSize !== "number" || !Number.isSafeInteger(r.oldSize) || r.oldSize < 0)
    throw new AnchorCosignatureFormatError("anchor cosignature request: oldSize must be an integer >= 0");
  if (
    !Array.isArray(r.proof) ||
    r.proof.length > 64 ||
    !r.proof.every((h) => typeof h === "string" && HASH.test(h))
  )
    throw new AnchorCosignatureFormatError(
      "anchor cosignature request: proof must be at most 64 lower-case 32-byte hex hashes",
    );
  if (typeof r.checkpoint !== "string" || r.checkpoint.length === 0 || r.checkpoint.length > 16_384)
    throw new AnchorCosignatureFormatError("anchor cosignature request: checkpoint must be a signed note");
  if (typeof r.metadataHash !== "string" || !HASH.test(r.metadataHash))
    throw new AnchorCosignatureFormatError(
      "anchor cosignature request: metadataHash must be 32 bytes of lower-case hex",
    );
  return {
    oldSize: r.oldSize,
    proof: r.proof as Hex[],
    checkpoint: r.checkpoint,
    metadataHash: r.metadataHash as Hex,
  };
}

/** The message a response says was signed. */
export function anchorCosignatureMessageOf(r: AnchorCosignatureResponse): AnchorCosignatureMessage {
  return {
    chainId: r.chainId,
    contract: r.contract,
    headIndex: BigInt(r.headIndex),
    previousSize: BigInt(r.previousSize),
    newSize: BigInt(r.newSize),
    newRoot: r.newRoot,
    metadataHash: r.metadataHash,
  };
}
