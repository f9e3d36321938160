import type { Hex } from "viem";
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
 *
 * The tuple is static (13 words), so the encoder writes each word into a preallocated buffer
 * instead of going through a generic ABI encoder; test/protocol/leaf-v1.test.ts checks it byte for byte
 * against viem's `encodeAbiParameters(LEAF_V1_ABI, …)` and `decodeAbiParameters`.
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
  FACT_RECORDED: 7,
} as const;
export type EventTypeName = keyof typeof EVENT_TYPES;

/**
 * Kinds of FACT_RECORDED events (the leaf's `code`): non-money facts whose document the owning
 * module stores; the leaf holds the document's SHA-256. Numbers are reserved per module (bank 1–19,
 * solvency 20–39, risk 40–79). Never renumber.
 */
export const FACT_KINDS = {
  BANK_STATEMENT: 1,
  BANK_RECONCILIATION: 2,
  BANK_BREAK_RESOLVED: 3,
  LIABILITIES_SNAPSHOT: 20,
  RESERVES_ATTESTED: 21,
  ALERT_RAISED: 40,
  ALERT_TRANSITIONED: 41,
  APPROVAL_PROPOSED: 42,
  APPROVAL_DECIDED: 43,
  APPROVAL_EXECUTED: 44,
  RULES_CHANGED: 45,
  SEGREGATION_REFUSED: 46,
} as const;
export type FactKind = keyof typeof FACT_KINDS;

const FACT_KIND_NAMES: Record<number, FactKind | undefined> = Object.fromEntries(
  Object.entries(FACT_KINDS).map(([name, no]) => [no, name as FactKind]),
);

/** The fact kind a FACT_RECORDED leaf's code names, or undefined. */
export function factKindOf(code: number): FactKind | undefined {
  return FACT_KIND_NAMES[code];
}

export const ZERO32: Hex = `0x${"00".repeat(32)}`;

const EVENT_TYPE_NAMES: Record<number, EventTypeName | undefined> = Object.fromEntries(
  Object.entries(EVENT_TYPES).map(([name, no]) => [no, name as EventTypeName]),
);

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

const UINT128_MAX = (1n << 128n) - 1n;

const HEX_BYTE: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Value of an ASCII hex digit by char code, or -1. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Lower-case 0x-hex of `bytes[from, to)`. */
function hexOf(bytes: Uint8Array, from: number, to: number): Hex {
  let s = "0x";
  for (let i = from; i < to; i++) s += HEX_BYTE[bytes[i]];
  return s as Hex;
}

function notWord32(field: string, v: unknown): LeafEncodingError {
  return new LeafEncodingError(`leaf field ${field} must be 32 bytes of 0x-hex`, {
    details: `got ${String(v)}`,
  });
}

/** Writes a 32-byte 0x-hex field (either case) at `offset`; throws unless it is exactly that. */
function put32(out: Uint8Array, offset: number, field: string, v: unknown): void {
  if (typeof v !== "string" || v.length !== 66 || v.charCodeAt(0) !== 48 || v.charCodeAt(1) !== 120)
    throw notWord32(field, v);
  for (let i = 0; i < 32; i++) {
    const hi = v.charCodeAt(2 + 2 * i);
    const lo = v.charCodeAt(3 + 2 * i);
    const h = hi < 128 ? HEX_VALUE[hi] : -1;
    const l = lo < 128 ? HEX_VALUE[lo] : -1;
    if (h < 0 || l < 0) throw notWord32(field, v);
    out[offset + i] = (h << 4) | l;
  }
}

/** A non-negative safe integer as the big-endian unsigned integer ending at byte `end` (exclusive). */
function putSafeUint(out: Uint8Array, end: number, v: number): void {
  let lo = v % 0x1_0000_0000;
  let hi = (v - lo) / 0x1_0000_0000;
  for (let i = 1; i <= 4; i++, lo = Math.floor(lo / 256)) out[end - i] = lo & 0xff;
  for (let i = 5; i <= 8; i++, hi = Math.floor(hi / 256)) out[end - i] = hi & 0xff;
}

function putBigUint(out: Uint8Array, end: number, value: bigint): void {
  if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return putSafeUint(out, end, Number(value));
  let v = value;
  for (let i = 1; v > 0n; i++, v >>= 8n) out[end - i] = Number(v & 0xffn);
}

/** The 32-byte word `w` as an unsigned bigint. */
function wordBigInt(b: Uint8Array, w: number): bigint {
  let v = 0n;
  for (let i = w * 32; i < w * 32 + 32; i++) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/** The 32-byte word `w` as a number, exactly when it is at most 2^53 - 1 (null beyond). */
function wordSafeNumber(b: Uint8Array, w: number): number | null {
  const o = w * 32;
  for (let i = o; i < o + 25; i++) if (b[i] !== 0) return null;
  if (b[o + 25] > 0x1f) return null;
  let v = 0;
  for (let i = o + 25; i < o + 32; i++) v = v * 256 + b[i];
  return v;
}

const ASSET_RE = /^[\x21-\x7e]{1,32}$/;

function checkAsset(asset: string): void {
  if (!ASSET_RE.test(asset)) {
    throw new LeafEncodingError("asset code must be 1..32 printable ASCII characters", {
      details: `got ${JSON.stringify(asset)}`,
    });
  }
}

export function assetToBytes32(asset: string): Hex {
  checkAsset(asset);
  const b = new Uint8Array(32);
  for (let i = 0; i < asset.length; i++) b[i] = asset.charCodeAt(i);
  return hexOf(b, 0, 32);
}

export function bytes32ToAsset(word: Hex): string {
  const b = new Uint8Array(32);
  put32(b, 0, "asset", word);
  return assetOfWord(b, false);
}

function assetOfWord(b: Uint8Array, allowEmpty: boolean): string {
  let end = b.indexOf(0);
  if (end === -1) end = 32;
  for (let i = end; i < 32; i++) {
    if (b[i] !== 0)
      throw new LeafEncodingError("asset word has bytes after its terminating zero", {
        details: hexOf(b, 0, 32),
      });
  }
  const asset = String.fromCharCode(...b.subarray(0, end));
  if (!(allowEmpty && asset === "")) checkAsset(asset);
  return asset;
}

function checkSafeUint(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new LeafEncodingError(`leaf field ${field} must be a non-negative safe integer`, {
      details: `got ${String(v)}`,
    });
}

function checkEntry(e: LeafEntry): void {
  if (e.version !== LEAF_VERSION)
    throw new LeafEncodingError(`unsupported leaf version ${e.version}`, {
      details: `expected ${LEAF_VERSION}`,
    });
  if (!Object.hasOwn(EVENT_TYPES, e.eventType))
    throw new LeafEncodingError(`unknown event type ${String(e.eventType)}`);
  // A safe integer is below 2^53, so it always fits the uint64 word.
  checkSafeUint("sequence", e.sequence);
  checkSafeUint("timestamp", e.timestamp);
  if (typeof e.amount !== "bigint" || e.amount < 0n || e.amount > UINT128_MAX)
    throw new LeafEncodingError("leaf amount must be a bigint in [0, 2^128)", {
      details: `got ${String(e.amount)}`,
    });
  if (!Number.isInteger(e.code) || e.code < 0 || e.code > 255)
    throw new LeafEncodingError("leaf code must be an integer in [0, 255]", {
      details: `got ${String(e.code)}`,
    });
  if (e.eventType === "FACT_RECORDED" && !FACT_KIND_NAMES[e.code])
    throw new LeafEncodingError(`unknown fact kind number ${e.code}`);
}

/** A fact may name no asset: its asset word is then all zero. Every other event names one. */
function checkEntryAsset(e: LeafEntry): void {
  if (e.eventType === "FACT_RECORDED" && e.asset === "") return;
  checkAsset(e.asset);
}

/** The canonical leaf bytes of an entry (416 bytes). Throws LeafEncodingError on any bad field. */
export function encodeLeaf(e: LeafEntry): Uint8Array {
  checkEntry(e);
  const out = new Uint8Array(LEAF_V1_BYTES);
  out[31] = e.version;
  out[63] = EVENT_TYPES[e.eventType];
  putSafeUint(out, 96, e.sequence);
  putSafeUint(out, 128, e.timestamp);
  put32(out, 4 * 32, "salt", e.salt);
  put32(out, 5 * 32, "entryId", e.entryId);
  put32(out, 6 * 32, "debitAccount", e.debitAccount);
  put32(out, 7 * 32, "creditAccount", e.creditAccount);
  checkEntryAsset(e);
  for (let i = 0; i < e.asset.length; i++) out[8 * 32 + i] = e.asset.charCodeAt(i);
  putBigUint(out, 10 * 32, e.amount);
  out[10 * 32 + 31] = e.code;
  put32(out, 11 * 32, "reference", e.reference);
  put32(out, 12 * 32, "metadataHash", e.metadataHash);
  return out;
}

/**
 * A uint8 word: it must hold a safe integer, as a generic ABI decoder requires; any other value out
 * of range is caught when decodeLeaf re-encodes.
 */
function smallWord(bytes: Uint8Array, w: number): number {
  const n = wordSafeNumber(bytes, w);
  if (n === null) throw new LeafEncodingError("leaf bytes are not a valid v1 encoding");
  return n;
}

/** Parses canonical leaf bytes; rejects anything that does not re-encode to the same bytes. */
export function decodeLeaf(bytes: Uint8Array): LeafEntry {
  if (bytes.length !== LEAF_V1_BYTES)
    throw new LeafEncodingError(`leaf must be ${LEAF_V1_BYTES} bytes`, { details: `got ${bytes.length}` });
  const version = smallWord(bytes, 0);
  const typeNo = smallWord(bytes, 1);
  const code = smallWord(bytes, 10);
  const eventType = EVENT_TYPE_NAMES[typeNo];
  if (!eventType) throw new LeafEncodingError(`unknown event type number ${typeNo}`);
  const entry: LeafEntry = {
    version,
    eventType,
    sequence: wordSafeNumber(bytes, 2) ?? Number(wordBigInt(bytes, 2)),
    timestamp: wordSafeNumber(bytes, 3) ?? Number(wordBigInt(bytes, 3)),
    salt: hexOf(bytes, 4 * 32, 5 * 32),
    entryId: hexOf(bytes, 5 * 32, 6 * 32),
    debitAccount: hexOf(bytes, 6 * 32, 7 * 32),
    creditAccount: hexOf(bytes, 7 * 32, 8 * 32),
    asset: assetOfWord(bytes.subarray(8 * 32, 9 * 32), eventType === "FACT_RECORDED"),
    amount: wordBigInt(bytes, 9),
    code,
    reference: hexOf(bytes, 11 * 32, 12 * 32),
    metadataHash: hexOf(bytes, 12 * 32, 13 * 32),
  };
  const again = encodeLeaf(entry);
  for (let i = 0; i < LEAF_V1_BYTES; i++)
    if (again[i] !== bytes[i]) throw new LeafEncodingError("leaf bytes are not canonical");
  return entry;
}

/** What most readers of many events need from a leaf (see leafSummary). */
export interface LeafSummary {
  eventType: EventTypeName;
  code: number;
  asset: string;
  amount: bigint;
}

const ASSET_TEXT = new Map<string, string>();

/**
 * Event type, code, asset and amount of a v1 leaf, read from their words alone: none of
 * decodeLeaf's hex fields, and no canonical re-encoding check. For leaves the reader's own ledger
 * wrote (it decoded them in full when it sealed them); verifiers of foreign leaves use decodeLeaf.
 * Throws LeafEncodingError on a wrong length, version or event type number.
 */
export function leafSummary(bytes: Uint8Array): LeafSummary {
  if (bytes.length !== LEAF_V1_BYTES)
    throw new LeafEncodingError(`leaf must be ${LEAF_V1_BYTES} bytes`, { details: `got ${bytes.length}` });
  if (smallWord(bytes, 0) !== LEAF_VERSION)
    throw new LeafEncodingError("leaf bytes are not a valid v1 encoding");
  const typeNo = smallWord(bytes, 1);
  const eventType = EVENT_TYPE_NAMES[typeNo];
  if (!eventType) throw new LeafEncodingError(`unknown event type number ${typeNo}`);
  // Asset codes are few: the word's text once per distinct prefix of at most 32 bytes.
  let end = 8 * 32;
  while (end < 9 * 32 && bytes[end] !== 0) end++;
  const key = String.fromCharCode(...bytes.subarray(8 * 32, end));
  let asset = ASSET_TEXT.get(key);
  if (asset === undefined) {
    asset = assetOfWord(bytes.subarray(8 * 32, 9 * 32), eventType === "FACT_RECORDED");
    if (ASSET_TEXT.size < 1024) ASSET_TEXT.set(key, asset);
  }
  const small = wordSafeNumber(bytes, 9);
  return {
    eventType,
    code: smallWord(bytes, 10),
    asset,
    amount: small === null ? wordBigInt(bytes, 9) : BigInt(small),
  };
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
