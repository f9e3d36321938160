import { hash as nodeHash } from "node:crypto";
import type { Hex } from "viem";
import { EVENT_TYPES, LEAF_V1_BYTES, LEAF_VERSION, type LeafEntry, assetToBytes32 } from "./leaf";

/**
 * Node-side fast path for leaf format v1: writes the same 416 bytes as `encodeLeaf` (checked by
 * test/ledger/leaf-writer.test.ts) without going through a generic ABI encoder, and hashes with
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
    w = Buffer.from(assetToBytes32(asset).slice(2), "hex");
    assetWords.set(asset, w);
  }
  return w;
}

function putHex32(buf: Buffer, word: number, hex: Hex): void {
  buf.write(hex.slice(2), 1 + word * 32, 32, "hex");
}

function putUint(buf: Buffer, word: number, value: bigint, bytes: number): void {
  let v = value;
  const end = 1 + word * 32 + 32;
  for (let i = 1; i <= bytes && v > 0n; i++) {
    buf[end - i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Writes every field except `sequence` (filled in by `sealLeaf`). */
export function prepareLeaf(e: Omit<LeafEntry, "sequence" | "version">): PreparedLeaf {
  const buf = Buffer.alloc(1 + LEAF_V1_BYTES);
  buf[1 + 31] = LEAF_VERSION;
  buf[1 + 63] = EVENT_TYPES[e.eventType];
  buf.writeBigUInt64BE(BigInt(e.timestamp), 1 + 3 * 32 + 24);
  putHex32(buf, 4, e.salt);
  putHex32(buf, 5, e.entryId);
  putHex32(buf, 6, e.debitAccount);
  putHex32(buf, 7, e.creditAccount);
  assetWord(e.asset).copy(buf, 1 + 8 * 32);
  putUint(buf, 9, e.amount, 16);
  buf[1 + 10 * 32 + 31] = e.code;
  putHex32(buf, 11, e.reference);
  putHex32(buf, 12, e.metadataHash);
  return { buf };
}

/** Sets the sequence and returns the leaf bytes and the RFC 9162 leaf hash. */
export function sealLeaf(p: PreparedLeaf, sequence: number): { leafBytes: Buffer; leafHash: Buffer } {
  p.buf.writeBigUInt64BE(BigInt(sequence), 1 + 2 * 32 + 24);
  return { leafBytes: p.buf.subarray(1), leafHash: nodeHash("sha256", p.buf, "buffer") as unknown as Buffer };
}

/** RFC 9162 leaf hash of stored leaf bytes, with node:crypto. */
export function leafHashFast(leafBytes: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + leafBytes.length);
  buf[0] = 0;
  buf.set(leafBytes, 1);
  return nodeHash("sha256", buf, "buffer") as unknown as Buffer;
}

/** The event type number (byte 63) and sequence (word 2) of stored leaf bytes. */
export function leafHeader(leafBytes: Uint8Array): { version: number; eventType: number; sequence: number } {
  const b = Buffer.from(leafBytes.buffer, leafBytes.byteOffset, leafBytes.byteLength);
  return { version: b[31], eventType: b[63], sequence: Number(b.readBigUInt64BE(88)) };
}
