import { fromRlp, getAddress, isAddress, toRlp, type Address, type Hex } from "viem";
import { NetworkConfigError } from "../errors";

const VANITY = `0x${"00".repeat(32)}` as const;

/**
 * Sorts validator addresses ascending by their 20 bytes (the order QBFT's genesis lists them in),
 * lower-case; refuses duplicates.
 */
export function sortValidators(validators: readonly string[]): Address[] {
  const lower = validators.map((v) => {
    if (!isAddress(v, { strict: false })) throw new NetworkConfigError(`not a validator address: ${v}`);
    return v.toLowerCase() as Address;
  });
  const sorted = [...lower].sort();
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i] === sorted[i - 1]) throw new NetworkConfigError(`validator ${sorted[i]} is listed twice`);
  return sorted;
}

/**
 * QBFT genesis `extraData` for block-header validator selection: the RLP list
 * `[32-byte vanity, [validators ascending], no vote (empty list), round 0 (empty string), no seals (empty list)]`
 * (Besu docs, "Configure QBFT consensus", genesis file).
 *
 * @example
 * encodeQbftExtraData(["0x64a7…", "0x3923…"]); // "0xf8…c080c0"
 */
export function encodeQbftExtraData(validators: readonly string[]): Hex {
  const sorted = sortValidators(validators);
  if (sorted.length === 0) throw new NetworkConfigError("QBFT needs at least one validator");
  return rlpQbftExtraData(sorted);
}

/** The RLP of `encodeQbftExtraData` for validators already in the order wanted (not sorted here). */
export function rlpQbftExtraData(validators: readonly Address[]): Hex {
  return toRlp([VANITY, [...validators], [], "0x", []]);
}

/** Decodes a QBFT genesis `extraData` back to its validators (checksummed, in the order stored). */
export function decodeQbftExtraData(extraData: Hex): { vanity: Hex; validators: Address[]; round: Hex } {
  const decoded = fromRlp(extraData, "hex");
  if (!Array.isArray(decoded) || decoded.length !== 5)
    throw new NetworkConfigError("QBFT extraData is not an RLP list of 5 items");
  const [vanity, validators, vote, round, seals] = decoded as [Hex, Hex[], unknown, Hex, unknown];
  if (typeof vanity !== "string" || vanity.length !== 66)
    throw new NetworkConfigError("QBFT extraData vanity is not 32 bytes");
  if (!Array.isArray(validators) || !validators.every((v) => typeof v === "string" && v.length === 42))
    throw new NetworkConfigError("QBFT extraData validators are not a list of 20-byte addresses");
  if (!Array.isArray(vote) || !Array.isArray(seals))
    throw new NetworkConfigError("QBFT extraData vote and seals must be lists");
  return { vanity, validators: validators.map((v) => getAddress(v)), round };
}
