import { hash as nodeHash } from "node:crypto";
import type { Hex } from "viem";
import {
  EVENT_TYPES,
  LEAF_V1_BYTES,
  LEAF_VERSION,
  type LeafEntry,
  ZERO32,
  assetToBytes32,
} from "../protocol/leaf-v1";

/**
 * Node-side fast path for leaf format v1: writes the same 416 bytes as `encodeLeaf` (checked by
 * test/protocol/leaf-v1.test.ts) without going through a generic ABI encoder, and hashes with
 * node:crypto. The buffer carries one leading 0x00 byte so the RFC 9162 leaf hash
 * SHA-256(0x00 ‖ leaf) needs no copy. Callers pass fields the ledger validated already.
 */
export interface PreparedLeaf {
  /** 0x00 ‖ leaf bytes (417 bytes). */
  readonly buf: Buffer;
}

const assetWords = new Map<string, Buffer>();
function assetWord(asset: string): Buffer {
  let w = assetWords.get(asset);
  if (!w) {
    // A fact may name no asset (checked by the encoder's rules): its word is all zero.
    w = asset === "" ? Buffer.alloc(32) : Buffer.from(assetToBytes32(asset).slice(2), "hex");
    assetWords.set(asset, w);
  }
  return w;
}

// Account pseudonyms recur in every transfer's leaf: their bytes are decoded once.
const WORD_CACHE_MAX = 100_000;
const words = new Map<string, Buffer>();

/** A 0x-hex 32-byte word that recurs (an account pseudonym) as bytes, decoded once. */
export function recurringWord(hex: Hex): Buffer {
  let w = words.get(hex);
  if (!w) {
    if (words.size >= WORD_CACHE_MAX) words.clear();
    w = Buffer.from(hex.slice(2), "hex");
    words.set(hex, w);
  }
  return w;
}

/** A 32-byte field as 0x-hex or raw bytes; the buffer starts zeroed, so zero words are skipped. */
export type Word32 = Hex | Uint8Array;

function put32(buf: Buffer, word: number, v: Word32): void {
  if (typeof v !== "string") buf.set(v, 1 + word * 32);
  else if (v !== ZERO32) buf.write(v.slice(2), 1 + word * 32, 32, "hex");
}

// Leaves are cut from zeroed slabs: one allocation per SLAB_LEAVES events instead of one each.
// Slabs are shared memory, so a large batch's leaves can be hashed on two threads (leaf-hasher.ts).
const SLAB_LEAVES = 1024;
const LEAF_BUF = 1 + LEAF_V1_BYTES;
let slab: Buffer = Buffer.alloc(0);
let slabOffset = 0;
function zeroedLeafBuffer(): Buffer {
  if (slabOffset === slab.length) {
    slab = Buffer.from(new SharedArrayBuffer(SLAB_LEAVES * LEAF_BUF));
    slabOffset = 0;
  }
  const b = slab.subarray(slabOffset, slabOffset + LEAF_BUF);
  slabOffset += LEAF_BUF;
  return b;
}

/** A non-negative safe integer as the big-endian uint64 ending at byte `end` (exclusive). */
function putUint53(buf: Buffer, end: number, v: number): void {
  buf.writeUInt32BE(v >>> 0, end - 4);
  buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), end - 8);
}

function putUint(buf: Buffer, word: number, value: bigint, bytes: number): void {
  if (value <= 0x1f_ffff_ffff_ffffn) return putUint53(buf, 1 + word * 32 + 32, Number(value));
  let v = value;
  const end = 1 + word * 32 + 32;
  for (let i = 1; i <= bytes && v > 0n; i++) {
    buf[end - i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** The fields `prepareLeaf` takes: a v1 entry without sequence and version; 32-byte fields as hex or bytes. */
export type PrepareLeafFields = Omit<
  LeafEntry,
  | "sequence"
  | "version"
  | "salt"
  | "entryId"
  | "debitAccount"
  | "creditAccount"
  | "reference"
  | "metadataHash"
> & {
  salt: Word32;
  entryId: Word32;
  debitAccount: Word32;
  creditAccount: Word32;
  reference: Word32;
  metadataHash: Word32;
};

/** Writes every field except `sequence` (filled in by `sealLeaf`). */
export function prepareLeaf(e: PrepareLeafFields): PreparedLeaf {
  const buf = zeroedLeafBuffer();
  buf[1 + 31] = LEAF_VERSION;
  buf[1 + 63] = EVENT_TYPES[e.eventType];
  putUint53(buf, 1 + 4 * 32, e.timestamp);
  put32(buf, 4, e.salt);
  put32(buf, 5, e.entryId);
  put32(buf, 6, e.debitAccount);
  put32(buf, 7, e.creditAccount);
  assetWord(e.asset).copy(buf, 1 + 8 * 32);
  putUint(buf, 9, e.amount, 16);
  buf[1 + 10 * 32 + 31] = e.code;
  put32(buf, 11, e.reference);
  put32(buf, 12, e.metadataHash);
  return { buf };
}

/** Writes the sequence, the last field, into a prepared leaf. */
export function setLeafSequence(p: PreparedLeaf, sequence: number): void {
  putUint53(p.buf, 1 + 3 * 32, sequence);
}

/** Sets the sequence and returns the leaf bytes and the RFC 9162 leaf hash. */
export function sealLeaf(p: PreparedLeaf, sequence: number): { leafBytes: Buffer; leafHash: Buffer } {
  setLeafSequence(p, sequence);
  return { leafBytes: p.buf.subarray(1), leafHash: nodeHash("sha256", p.buf, "buffer") as unknown as Buffer };
}
