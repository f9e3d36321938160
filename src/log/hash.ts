import { sha256 } from "@noble/hashes/sha2";

/**
 * RFC 9162 §2.1.1 hashing with SHA-256. Portable (browser and Node): the receipt checker in the
 * browser uses exactly this code. Node-side bulk work may inject a faster hasher with the same
 * contract (see `Hasher`).
 *
 *   leaf hash  = SHA-256(0x00 ‖ leafBytes)
 *   node hash  = SHA-256(0x01 ‖ left ‖ right)
 *   empty tree = SHA-256("")
 */
export interface Hasher {
  hashLeaf(leafBytes: Uint8Array): Uint8Array;
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array;
  emptyRoot(): Uint8Array;
}

export const HASH_SIZE = 32;

export function hashLeaf(leafBytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + leafBytes.length);
  buf[0] = 0x00;
  buf.set(leafBytes, 1);
  return sha256(buf);
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + 2 * HASH_SIZE);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + HASH_SIZE);
  return sha256(buf);
}

export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

export const portableHasher: Hasher = { hashLeaf, hashChildren, emptyRoot };
