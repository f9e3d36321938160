import type { Hex } from "viem";
import {
  EVENT_TYPES,
  LEAF_V1_BYTES,
  LEAF_VERSION,
  type EventTypeName,
  type LeafEntry,
  factKindOf,
} from "../protocol/leaf-v1";

/**
 * Fast, allocation-light reader of leaf format v1 for bulk audits: the same acceptance as
 * `decodeLeaf` (canonical ABI words only; checked against it by test/audit/leaf.test.ts) without a
 * generic ABI decoder, so a million leaves decode in about a second. Node-only (Buffer).
 *
 * Returns the entry, or a string saying why the bytes are not a canonical v1 leaf.
 */
const TYPE_NAMES: (EventTypeName | undefined)[] = [];
for (const [name, no] of Object.entries(EVENT_TYPES)) TYPE_NAMES[no] = name as EventTypeName;

const assetCache = new Map<string, string | null>();

function assetOf(b: Buffer, off: number): string | null {
  const key = b.toString("latin1", off, off + 32);
  let a = assetCache.get(key);
  if (a !== undefined) return a;
  let end = 0;
  while (end < 32 && b[off + end] !== 0) end++;
  a = end === 0 ? null : key.slice(0, end);
  for (let i = end; i < 32 && a !== null; i++) if (b[off + i] !== 0) a = null;
  if (a !== null && !/^[\x21-\x7e]{1,32}$/.test(a)) a = null;
  if (assetCache.size < 10_000) assetCache.set(key, a);
  return a;
}

/** True iff bytes [from, to) of `b` are all zero. */
function zeros(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function hex32(b: Buffer, word: number): Hex {
  return `0x${b.toString("hex", word * 32, word * 32 + 32)}`;
}

/** A leaf's fields that need no hex string, with its bytes (the 32-byte words stay unread). */
export type LeafScalars = Pick<
  LeafEntry,
  "version" | "eventType" | "sequence" | "timestamp" | "asset" | "amount" | "code"
> & {
  bytes: Buffer;
};

/** True iff word `word` of a leaf is the 32 bytes `bytes`. */
export function wordIs(leaf: Buffer, word: number, bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  // A plain loop: Buffer#compare with offsets costs more than 32 byte reads.
  const o = word * 32;
  for (let i = 0; i < 32; i++) if (leaf[o + i] !== bytes[i]) return false;
  return true;
}

/** A leaf word as 0x-prefixed hex. */
export function leafWord(leaf: Buffer, word: number): Hex {
  return hex32(leaf, word);
}

/**
 * `readLeaf` without the hex strings: the same checks and the same answer for bytes that are not a
 * canonical v1 leaf, for readers that compare a few words against known bytes instead.
 */
export function readLeafScalars(bytes: Uint8Array): LeafScalars | string {
  if (bytes.length !== LEAF_V1_BYTES) return `leaf must be ${LEAF_V1_BYTES} bytes, got ${bytes.length}`;
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Static ABI words: unused high-order bytes must be zero (uint8: 31, uint64: 24, uint128: 16).
  if (!zeros(b, 0, 31) || b[31] !== LEAF_VERSION) return `unsupported leaf version word ${hex32(b, 0)}`;
  const eventType = TYPE_NAMES[b[63]];
  if (!zeros(b, 32, 63) || eventType === undefined) return `unknown event type word ${hex32(b, 1)}`;
  if (!zeros(b, 64, 88)) return "sequence does not fit in uint64";
  if (!zeros(b, 96, 120)) return "timestamp does not fit in uint64";
  const sequence = b.readBigUInt64BE(88);
  const timestamp = b.readBigUInt64BE(120);
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER) || timestamp > BigInt(Number.MAX_SAFE_INTEGER))
    return "sequence or timestamp is not a safe integer";
  const fact = eventType === "FACT_RECORDED";
  // A fact may name no asset (an all-zero word); every other event names one.
  const asset = fact && zeros(b, 256, 288) ? "" : assetOf(b, 256);
  if (asset === null) return `asset word ${hex32(b, 8)} is not 1..32 printable ASCII characters`;
  if (!zeros(b, 288, 304)) return "amount does not fit in uint128";
  if (!zeros(b, 320, 351)) return "code does not fit in uint8";
  if (fact && factKindOf(b[351]) === undefined) return `unknown fact kind number ${b[351]}`;
  return {
    version: LEAF_VERSION,
    eventType,
    sequence: Number(sequence),
    timestamp: Number(timestamp),
    asset,
    amount: (b.readBigUInt64BE(304) << 64n) | b.readBigUInt64BE(312),
    code: b[351],
    bytes: b,
  };
}

export function readLeaf(bytes: Uint8Array): LeafEntry | string {
  const s = readLeafScalars(bytes);
  if (typeof s === "string") return s;
  const b = s.bytes;
  return {
    version: s.version,
    eventType: s.eventType,
    sequence: s.sequence,
    timestamp: s.timestamp,
    salt: hex32(b, 4),
    entryId: hex32(b, 5),
    debitAccount: hex32(b, 6),
    creditAccount: hex32(b, 7),
    asset: s.asset,
    amount: s.amount,
    code: s.code,
    reference: hex32(b, 11),
    metadataHash: hex32(b, 12),
  };
}
