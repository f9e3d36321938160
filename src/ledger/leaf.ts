import { decodeAbiParameters, encodeAbiParameters, type Hex, bytesToHex, hexToBytes, isHex } from "viem";
import { InvalidArgumentError } from "../errors";
import { hashLeaf } from "../log/hash";

/**
 * Leaf format v1: the canonical bytes of one ledger event, the preimage of its RFC 9162 leaf hash.
 * Normative spec: docs/leaf-encoding-v1.md. Portable (browser and Node): the receipt checker
 * rebuilds the leaf from a receipt's entry with exactly this code, and Solidity can rebuild it with
 * `abi.encode(...)` of the same static tuple (13 words, 416 bytes).
 *
 * Only hashes and pseudonymous ids (keyed hashes) appear in a leaf; the random salt makes a leaf
 * unguessable from its public fields, so a leaf hash reveals nothing to whoever lacks the entry.
 */
export const LEAF_VERSION = 1;
export const LEAF_V1_BYTES = 13 * 32;

export const LEAF_V1_ABI = [
  { name: "version", type: "uint8" },
  { name: "eventType", type: "uint8" },
  { name: "sequence", type: "uint64" },
  { name: "timestamp", type: "uint64" },
  { name: "salt", type: "bytes32" },
  { name: "entryId", type: "bytes32" },
  { name: "debitAccount", type: "bytes32" },
  { name: "creditAccount", type: "bytes32" },
  { name: "asset", type: "bytes32" },
  { name: "amount", type: "uint128" },
  { name: "code", type: "uint8" },
  { name: "reference", type: "bytes32" },
  { name: "metadataHash", type: "bytes32" },
] as const;

/** Event types, numbered as in the leaf. Never renumber: old leaves must keep their meaning. */
export const EVENT_TYPES = {
  ACCOUNT_OPENED: 1,
  ACCOUNT_STATUS_CHANGED: 2,
  TRANSFER_POSTED: 3,
  HOLD_CREATED: 4,
  HOLD_POSTED: 5,
  HOLD_VOIDED: 6,
} as const;
export type EventTypeName = keyof typeof EVENT_TYPES;

export const ZERO32: Hex = `0x${"00".repeat(32)}`;

/** One leaf's fields. Hex values are 0x-prefixed, lower-case, 32 bytes. */
export interface LeafEntry {
  version: number;
  eventType: EventTypeName;
  /** 0-based position in the log; equals the leaf index. */
  sequence: number;
  /** Milliseconds since the Unix epoch, as recorded by the ledger. */
  timestamp: number;
  salt: Hex;
  /** Pseudonym of the transfer, hold or account the event is about. */
  entryId: Hex;
  debitAccount: Hex;
  creditAccount: Hex;
  /** Asset code, e.g. "EUR": ASCII, 1..32 characters, stored right-padded with zero bytes. */
  asset: string;
  /** Minor units; 0 <= amount < 2^128. */
  amount: bigint;
  /** Event-specific small code: transfer kind, account type or status (docs/leaf-encoding-v1.md). */
  code: number;
  reference: Hex;
  metadataHash: Hex;
}

/** JSON form of a leaf entry (amount as a decimal string), as it appears in receipts. */
export type LeafEntryJson = Omit<LeafEntry, "amount"> & { amount: string };

export class LeafEncodingError extends InvalidArgumentError {
  override name = "LeafEncodingError";
}

const UINT64_MAX = (1n << 64n) - 1n;
const UINT128_MAX = (1n << 128n) - 1n;

function check32(field: string, v: unknown): Hex {
  if (typeof v !== "string" || !isHex(v, { strict: true }) || v.length !== 66) {
    throw new LeafEncodingError(`leaf field ${field} must be 32 bytes of 0x-hex`, {
      details: `got ${String(v)}`,
    });
  }
  return v.toLowerCase() as Hex;
}

export function assetToBytes32(asset: string): Hex {
  if (!/^[\x21-\x7e]{1,32}$/.test(asset)) {
    throw new LeafEncodingError("asset code must be 1..32 printable ASCII characters", {
      details: `got ${JSON.stringify(asset)}`,
    });
  }
  const b = new Uint8Array(32);
  for (let i = 0; i < asset.length; i++) b[i] = asset.charCodeAt(i);
  return bytesToHex(b);
}

export function bytes32ToAsset(word: Hex): string {
  const b = hexToBytes(word);
  let end = b.indexOf(0);
  if (end === -1) end = 32;
  for (let i = end; i < 32; i++) {
    if (b[i] !== 0)
      throw new LeafEncodingError("asset word has bytes after its terminating zero", { details: word });
  }
  const asset = String.fromCharCode(...b.subarray(0, end));
  assetToBytes32(asset); // validates the character set
  return asset;
}

function checkEntry(e: LeafEntry): void {
  if (e.version !== LEAF_VERSION)
    throw new LeafEncodingError(`unsupported leaf version ${e.version}`, {
      details: `expected ${LEAF_VERSION}`,
    });
  if (!(e.eventType in EVENT_TYPES)) throw new LeafEncodingError(`unknown event type ${String(e.eventType)}`);
  for (const [f, v] of [
    ["sequence", e.sequence],
    ["timestamp", e.timestamp],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || BigInt(v) > UINT64_MAX)
      throw new LeafEncodingError(`leaf field ${f} must be a non-negative safe integer`, {
        details: `got ${String(v)}`,
      });
  }
  if (typeof e.amount !== "bigint" || e.amount < 0n || e.amount > UINT128_MAX)
    throw new LeafEncodingError("leaf amount must be a bigint in [0, 2^128)", {
      details: `got ${String(e.amount)}`,
    });
  if (!Number.isInteger(e.code) || e.code < 0 || e.code > 255)
    throw new LeafEncodingError("leaf code must be an integer in [0, 255]", {
      details: `got ${String(e.code)}`,
    });
}

/** The canonical leaf bytes of an entry (416 bytes). Throws LeafEncodingError on any bad field. */
export function encodeLeaf(e: LeafEntry): Uint8Array {
  checkEntry(e);
  const hex = encodeAbiParameters(LEAF_V1_ABI, [
    e.version,
    EVENT_TYPES[e.eventType],
    BigInt(e.sequence),
    BigInt(e.timestamp),
    check32("salt", e.salt),
    check32("entryId", e.entryId),
    check32("debitAccount", e.debitAccount),
    check32("creditAccount", e.creditAccount),
    assetToBytes32(e.asset),
    e.amount,
    e.code,
    check32("reference", e.reference),
    check32("metadataHash", e.metadataHash),
  ]);
  return hexToBytes(hex);
}

/** Parses canonical leaf bytes; rejects anything that does not re-encode to the same bytes. */
export function decodeLeaf(bytes: Uint8Array): LeafEntry {
  if (bytes.length !== LEAF_V1_BYTES)
    throw new LeafEncodingError(`leaf must be ${LEAF_V1_BYTES} bytes`, { details: `got ${bytes.length}` });
  let v: readonly unknown[];
  try {
    v = decodeAbiParameters(LEAF_V1_ABI, bytesToHex(bytes));
  } catch (cause) {
    throw new LeafEncodingError("leaf bytes are not a valid v1 encoding", { cause });
  }
  const typeNo = v[1] as number;
  const eventType = (Object.keys(EVENT_TYPES) as EventTypeName[]).find((k) => EVENT_TYPES[k] === typeNo);
  if (!eventType) throw new LeafEncodingError(`unknown event type number ${typeNo}`);
  const entry: LeafEntry = {
    version: v[0] as number,
    eventType,
    sequence: Number(v[2] as bigint),
    timestamp: Number(v[3] as bigint),
    salt: v[4] as Hex,
    entryId: v[5] as Hex,
    debitAccount: v[6] as Hex,
    creditAccount: v[7] as Hex,
    asset: bytes32ToAsset(v[8] as Hex),
    amount: v[9] as bigint,
    code: v[10] as number,
    reference: v[11] as Hex,
    metadataHash: v[12] as Hex,
  };
  const again = encodeLeaf(entry);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    throw new LeafEncodingError("leaf bytes are not canonical");
  }
  return entry;
}

/** RFC 9162 leaf hash of an entry: SHA-256(0x00 ‖ encodeLeaf(entry)). */
export function leafHashOf(e: LeafEntry): Uint8Array {
  return hashLeaf(encodeLeaf(e));
}

export function leafEntryToJson(e: LeafEntry): LeafEntryJson {
  return { ...e, amount: e.amount.toString() };
}

/** Parses the JSON form strictly (unknown or missing fields are errors). */
export function leafEntryFromJson(j: unknown): LeafEntry {
  if (typeof j !== "object" || j === null || Array.isArray(j))
    throw new LeafEncodingError("leaf entry must be a JSON object");
  const o = j as Record<string, unknown>;
  const fields = LEAF_V1_ABI.map((f) => f.name as string);
  for (const k of Object.keys(o))
    if (!fields.includes(k)) throw new LeafEncodingError(`unknown leaf entry field ${k}`);
  for (const k of fields) if (!(k in o)) throw new LeafEncodingError(`leaf entry field ${k} is missing`);
  if (typeof o.amount !== "string" || !/^(0|[1-9][0-9]*)$/.test(o.amount)) {
    throw new LeafEncodingError("leaf entry amount must be a decimal string of a non-negative integer", {
      details: `got ${String(o.amount)}`,
    });
  }
  const e = { ...(o as unknown as LeafEntryJson), amount: BigInt(o.amount) } as LeafEntry;
  checkEntry(e);
  encodeLeaf(e); // validates the hex fields and the asset
  return e;
}
