import { sha256 } from "@noble/hashes/sha2";
import { expand, extract } from "@noble/hashes/hkdf";
import { InvalidArgumentError, InvariantError } from "../errors";
import { FixedLengthSha256, HmacSha256, sha256PrefixedInto } from "./sha256";

/**
 * Liabilities Merkle sum tree, version 1 (spec: docs/liabilities-tree-v1.md). Pure and
 * browser-safe; bulk builders may inject a faster SHA-256 with the same result.
 *
 *   leaf      = SHA-256(0x00 ‖ key[32] ‖ salt[32] ‖ balance[8, big-endian])          (73 bytes in)
 *   node      = SHA-256(0x01 ‖ leftHash[32] ‖ leftSum[16] ‖ rightHash[32] ‖ rightSum[16]) (97 bytes in)
 *   node sum  = leftSum + rightSum
 *
 * Balances are 0 ≤ b < 2^64; a tree has exactly 2^height leaves with height ≤ 32, so every sum is
 * below 2^96 and its 16-byte encoding never overflows.
 */

export const LIABILITIES_TREE_VERSION = "custody-liabilities-tree-v1";
export const BALANCE_LIMIT = 1n << 64n;
export const MAX_TREE_HEIGHT = 32;
export const SUM_BYTES = 16;
const SUM_LIMIT = 1n << BigInt(8 * SUM_BYTES);
const LEAF_INPUT_BYTES = 1 + 32 + 32 + 8;
const NODE_INPUT_BYTES = 1 + 2 * (32 + SUM_BYTES);

export type Sha256 = (data: Uint8Array) => Uint8Array;
/** HKDF-Expand(prk, info, length) with SHA-256 (RFC 5869); injectable so Node can use its own HMAC. */
export type HkdfExpand = (prk: Uint8Array, info: Uint8Array, length: number) => Uint8Array;
const portableExpand: HkdfExpand = (prk, info, length) => expand(sha256, prk, info, length);

/** A balance outside 0 ≤ b < 2^64, or a sum outside its level's range. */
export class BalanceOutOfRangeError extends InvalidArgumentError {
  override name = "BalanceOutOfRangeError";
  override readonly code = "BALANCE_OUT_OF_RANGE";
}

/** A tree height outside 0..32, or more leaves than the height allows. */
export class TreeHeightError extends InvalidArgumentError {
  override name = "TreeHeightError";
  override readonly code = "INVALID_TREE_HEIGHT";
}

/** The largest sum a node at `level` (0 = leaves) can hold: 2^level leaves each below 2^64. */
export function sumLimitAt(level: number): bigint {
  return BALANCE_LIMIT << BigInt(level);
}

export function checkBalance(balance: bigint): void {
  if (typeof balance !== "bigint" || balance < 0n || balance >= BALANCE_LIMIT)
    throw new BalanceOutOfRangeError(`balance out of range`, {
      details: `expected 0 <= balance < 2^64, found ${String(balance)}`,
    });
}

export function checkHeight(height: number): void {
  if (!Number.isInteger(height) || height < 0 || height > MAX_TREE_HEIGHT)
    throw new TreeHeightError("tree height out of range", {
      details: `expected an integer 0..${MAX_TREE_HEIGHT}, found ${height}`,
    });
}

/** The smallest height ≥ `minHeight` whose 2^height leaves hold `count` accounts. */
export function heightFor(count: number, minHeight = 0): number {
  let h = minHeight;
  while (2 ** h < count) h++;
  checkHeight(h);
  return h;
}

/** Writes `value` (< 2^128) as 16 big-endian bytes at `offset`. */
export function writeSum(view: DataView, offset: number, value: bigint): void {
  // Most sums fit 64 bits: skip the shift and mask (each allocates a bigint).
  if (value < BALANCE_LIMIT) {
    view.setBigUint64(offset, 0n);
    view.setBigUint64(offset + 8, value);
    return;
  }
  view.setBigUint64(offset, value >> 64n);
  view.setBigUint64(offset + 8, value & 0xffffffffffffffffn);
}

/** Leaf hash of one account's (key, salt, balance). Requires 32-byte key and salt. */
export function liabilityLeafHash(key: Uint8Array, salt: Uint8Array, balance: bigint, hash: Sha256 = sha256) {
  checkBalance(balance);
  if (key.length !== 32 || salt.length !== 32)
    throw new InvalidArgumentError("leaf key and salt must be 32 bytes each", {
      details: `found ${key.length} and ${salt.length} bytes`,
    });
  const buf = new Uint8Array(LEAF_INPUT_BYTES);
  buf[0] = 0x00;
  buf.set(key, 1);
  buf.set(salt, 33);
  new DataView(buf.buffer).setBigUint64(65, balance);
  return hash(buf);
}

/** Node hash. Requires both sums in 0 ≤ s < 2^128 (callers check the tighter per-level range). */
export function liabilityNodeHash(
  left: Uint8Array,
  leftSum: bigint,
  right: Uint8Array,
  rightSum: bigint,
  hash: Sha256 = sha256,
): Uint8Array {
  if (leftSum < 0n || rightSum < 0n || leftSum >= SUM_LIMIT || rightSum >= SUM_LIMIT)
    throw new BalanceOutOfRangeError("node sum outside 128 bits", {
      details: `found ${leftSum} and ${rightSum}`,
    });
  const buf = new Uint8Array(NODE_INPUT_BYTES);
  const view = new DataView(buf.buffer);
  buf[0] = 0x01;
  buf.set(left, 1);
  writeSum(view, 33, leftSum);
  buf.set(right, 49);
  writeSum(view, 81, rightSum);
  return hash(buf);
}

/** Bytes of one node in a level buffer, and of one element of a serialised path: hash ‖ sum. */
export const SUM_NODE_BYTES = 32 + SUM_BYTES;

/** A full binary sum tree; `levels[0]` are the leaves, `levels[height]` the root. */
export interface SumTree {
  height: number;
  /**
   * `levels[l]` holds the 2^(height−l) nodes of level l, left to right, {@link SUM_NODE_BYTES} each:
   * hash[32] ‖ sum[16, big-endian]. Two siblings side by side are their parent's input after its
   * 0x01 prefix, and one node is one element of a proof's path: nodes are hashed where they lie and
   * proofs are copies.
   */
  levels: Uint8Array[];
  rootHash: Uint8Array;
  rootSum: bigint;
}

/** The 16-byte big-endian sum at `buf[offset..offset+16)`. */
function readSum(buf: Uint8Array, offset: number): bigint {
  const view = new DataView(buf.buffer, buf.byteOffset + offset, 16);
  const hi = view.getBigUint64(0);
  const lo = view.getBigUint64(8);
  return hi === 0n ? lo : (hi << 64n) | lo;
}

/** The unsigned big-endian 32-bit word at `b[o..o+4)`. */
function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Writes the sum of the 16-byte big-endian sums at `b[x..x+16)` and `b[y..y+16)` at
 * `out[o..o+16)`, as three 32-bit words with carries (each word sum is below 2^33, exact as a
 * double). Every sum in a tree of height ≤ 32 over balances below 2^64 is below 2^96, so the top
 * word is zero in both and in the result (checked through the carry out of the third word).
 */
export function addSumsInto(b: Uint8Array, x: number, y: number, out: Uint8Array, o: number): void {
  let lo = word(b, x + 12) + word(b, y + 12);
  let mid = word(b, x + 8) + word(b, y + 8);
  let hi = word(b, x + 4) + word(b, y + 4);
  if (lo > 0xffff_ffff) {
    lo -= 0x1_0000_0000;
    mid += 1;
  }
  if (mid > 0xffff_ffff) {
    mid -= 0x1_0000_0000;
    hi += 1;
  }
  if (hi > 0xffff_ffff) throw new InvariantError("a node sum of 2^96 or more in a tree of height ≤ 32");
  out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
  out[o + 4] = hi >>> 24;
  out[o + 5] = (hi >>> 16) & 0xff;
  out[o + 6] = (hi >>> 8) & 0xff;
  out[o + 7] = hi & 0xff;
  out[o + 8] = mid >>> 24;
  out[o + 9] = (mid >>> 16) & 0xff;
  out[o + 10] = (mid >>> 8) & 0xff;
  out[o + 11] = mid & 0xff;
  out[o + 12] = lo >>> 24;
  out[o + 13] = (lo >>> 16) & 0xff;
  out[o + 14] = (lo >>> 8) & 0xff;
  out[o + 15] = lo & 0xff;
}

/**
 * Builds the tree over exactly 2^height leaves (hashes concatenated, and their balances).
 * Throws {@link BalanceOutOfRangeError} for a balance outside 0 ≤ b < 2^64.
 */
export function buildSumTree(leafHashes: Uint8Array, balances: readonly bigint[], height: number): SumTree {
  checkHeight(height);
  const n = 2 ** height;
  if (balances.length !== n || leafHashes.length !== n * 32)
    throw new TreeHeightError("a tree of this height needs exactly 2^height leaves", {
      details: `height ${height} needs ${n} leaves, found ${balances.length} balances and ${leafHashes.length / 32} hashes`,
    });
  const leaves = new Uint8Array(n * SUM_NODE_BYTES);
  const view = new DataView(leaves.buffer);
  for (let i = 0; i < n; i++) {
    const o = SUM_NODE_BYTES * i;
    for (let k = 0; k < 32; k++) leaves[o + k] = leafHashes[32 * i + k]!;
    const b = balances[i]!;
    checkBalance(b);
    view.setBigUint64(o + 40, b);
  }
  return buildSumTreeFromLeaves(leaves, height);
}

/**
 * Builds the tree over 2^height leaf nodes laid out as a level ({@link SumTree.levels}): each leaf
 * hash ‖ its balance as a 16-byte sum. The buffer becomes the tree's level 0 (not copied when it
 * starts at a multiple of 4 bytes). Each node is hashed from its children where they lie (same bytes
 * as {@link liabilityNodeHash}) and its sum added in 32-bit words: no bigint per node.
 * Throws {@link BalanceOutOfRangeError} if a leaf's sum is not below 2^64.
 */
export function buildSumTreeFromLeaves(leaves: Uint8Array, height: number): SumTree {
  checkHeight(height);
  const n = 2 ** height;
  if (leaves.length !== n * SUM_NODE_BYTES)
    throw new TreeHeightError("a tree of this height needs exactly 2^height leaves", {
      details: `height ${height} needs ${n} leaves, found ${leaves.length / SUM_NODE_BYTES}`,
    });
  if (leaves.byteOffset % 4 !== 0) leaves = leaves.slice();
  for (let o = 32; o < leaves.length; o += SUM_NODE_BYTES)
    if (word(leaves, o) !== 0 || word(leaves, o + 4) !== 0)
      throw new BalanceOutOfRangeError("balance out of range", {
        details: `leaf ${(o - 32) / SUM_NODE_BYTES} has a sum of 2^64 or more`,
      });
  // Levels 1..height share one allocation (2^height − 1 nodes): one large buffer, not one per level.
  const upper = new Uint8Array((n - 1) * SUM_NODE_BYTES);
  const levels = [leaves];
  for (let level = 0, at = 0; level < height; level++) {
    const below = levels[level]!;
    const count = below.length / (2 * SUM_NODE_BYTES);
    const above = upper.subarray(at, (at += count * SUM_NODE_BYTES));
    for (let i = 0, src = 0, dst = 0; i < count; i++, src += 2 * SUM_NODE_BYTES, dst += SUM_NODE_BYTES) {
      sha256PrefixedInto(0x01, below, src, 2 * SUM_NODE_BYTES, above, dst);
      addSumsInto(below, src + 32, src + SUM_NODE_BYTES + 32, above, dst + 32);
    }
    levels.push(above);
  }
  const top = levels[height]!;
  return { height, levels, rootHash: top.slice(0, 32), rootSum: readSum(top, 32) };
}

export interface SumSibling {
  hash: Uint8Array;
  sum: bigint;
}

function checkIndex(tree: SumTree, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** tree.height)
    throw new InvalidArgumentError("leaf index out of range", {
      details: `expected 0..${2 ** tree.height - 1}, found ${index}`,
    });
}

/** Node `index` of `level` (0 = leaves): a copy of its hash, and its sum. */
export function sumTreeNode(tree: SumTree, level: number, index: number): SumSibling {
  const buf = tree.levels[level];
  if (!buf || !Number.isInteger(index) || index < 0 || index >= buf.length / SUM_NODE_BYTES)
    throw new InvalidArgumentError("tree node out of range", { details: `level ${level}, index ${index}` });
  const o = SUM_NODE_BYTES * index;
  return { hash: buf.slice(o, o + 32), sum: readSum(buf, o + 32) };
}

/** The sibling path of leaf `index`, from the leaf level up. Requires 0 ≤ index < 2^height. */
export function sumTreePath(tree: SumTree, index: number): SumSibling[] {
  checkIndex(tree, index);
  const path: SumSibling[] = [];
  let i = index;
  for (let level = 0; level < tree.height; level++, i >>>= 1)
    path.push(sumTreeNode(tree, level, i + 1 - 2 * (i & 1)));
  return path;
}

/**
 * Writes sibling paths as proofs serialise them: for each level from the leaves up, the sibling's
 * hash ‖ sum ({@link SUM_NODE_BYTES}), `pathBytes` in all. Each element is a copy of the node as
 * the level holds it, twelve 32-bit words when `out` is 4-byte aligned there (byte by byte if not).
 */
export class SumPathWriter {
  readonly pathBytes: number;
  readonly #tree: SumTree;
  readonly #leafCount: number;
  readonly #words: Int32Array[];
  #out: Uint8Array | undefined;
  #outWords: Int32Array = new Int32Array(0);

  constructor(tree: SumTree) {
    this.#tree = tree;
    this.#leafCount = 2 ** tree.height;
    this.pathBytes = tree.height * SUM_NODE_BYTES;
    this.#words = tree.levels.map((l) => {
      if (l.byteOffset % 4 !== 0) throw new InvalidArgumentError("tree level not 4-byte aligned");
      return new Int32Array(l.buffer, l.byteOffset, l.length >> 2);
    });
  }

  /** The path of leaf `index` at `out[offset..offset+pathBytes)`. */
  write(index: number, out: Uint8Array, offset: number): void {
    if (!(index >= 0 && index < this.#leafCount && Math.floor(index) === index))
      checkIndex(this.#tree, index);
    const bytes = this.pathBytes;
    if (!(offset >= 0 && offset + bytes <= out.length && Math.floor(offset) === offset))
      throw new InvalidArgumentError("path does not fit the output buffer", {
        details: `${bytes} bytes at ${offset} into ${out.length}`,
      });
    const height = this.#tree.height;
    // >>> and the sibling as i + 1 − 2(i & 1): exact for indices up to 2^32 − 1.
    let i = index;
    if ((out.byteOffset + offset) % 4 === 0) {
      if (out !== this.#out) {
        this.#out = out;
        this.#outWords = new Int32Array(out.buffer, out.byteOffset, out.length >> 2);
      }
      const to = this.#outWords;
      const levels = this.#words;
      let d = offset >> 2;
      for (let level = 0; level < height; level++, i >>>= 1, d += 12) {
        const from = levels[level]!;
        const s = 12 * (i + 1 - 2 * (i & 1));
        to[d] = from[s]!;
        to[d + 1] = from[s + 1]!;
        to[d + 2] = from[s + 2]!;
        to[d + 3] = from[s + 3]!;
        to[d + 4] = from[s + 4]!;
        to[d + 5] = from[s + 5]!;
        to[d + 6] = from[s + 6]!;
        to[d + 7] = from[s + 7]!;
        to[d + 8] = from[s + 8]!;
        to[d + 9] = from[s + 9]!;
        to[d + 10] = from[s + 10]!;
        to[d + 11] = from[s + 11]!;
      }
      return;
    }
    const levels = this.#tree.levels;
    for (let level = 0; level < height; level++, i >>>= 1) {
      const from = levels[level]!;
      const s = SUM_NODE_BYTES * (i + 1 - 2 * (i & 1));
      const d = offset + level * SUM_NODE_BYTES;
      for (let k = 0; k < SUM_NODE_BYTES; k++) out[d + k] = from[s + k]!;
    }
  }
}

/** Outcome of folding a path: the computed root, or the first problem found. */
export type PathFold =
  { ok: true; rootHash: Uint8Array; rootSum: bigint } | { ok: false; level: number; problem: string };

/**
 * Folds a leaf up its sibling path. Rejects any sibling sum outside 0 ≤ s < 2^(64+level) (a
 * negative or oversized sum would let a prover shrink the total) before hashing anything.
 */
export function foldSumPath(
  leafHash: Uint8Array,
  balance: bigint,
  index: number,
  path: readonly SumSibling[],
  hash: Sha256 = sha256,
): PathFold {
  for (let level = 0; level < path.length; level++) {
    const s = path[level]!.sum;
    if (s < 0n || s >= sumLimitAt(level))
      return {
        ok: false,
        level,
        problem: `sibling sum ${s} at level ${level} is outside 0..2^${64 + level}-1`,
      };
  }
  let h = leafHash;
  let sum = balance;
  let i = index;
  for (let level = 0; level < path.length; level++) {
    const sib = path[level]!;
    h =
      i & 1
        ? liabilityNodeHash(sib.hash, sib.sum, h, sum, hash)
        : liabilityNodeHash(h, sum, sib.hash, sib.sum, hash);
    sum += sib.sum;
    i = Math.floor(i / 2);
  }
  if (sum >= SUM_LIMIT) throw new InvariantError("sum above 128 bits despite per-level range checks");
  return { ok: true, rootHash: h, rootSum: sum };
}

// ---- Per-snapshot keys, salts and positions (HKDF-SHA256, RFC 5869) ----

const enc = new TextEncoder();
const INFO_LEAF = enc.encode("custody-liabilities-v1/leaf");
const INFO_PADDING = enc.encode("custody-liabilities-v1/padding");
const INFO_SHUFFLE = enc.encode("custody-liabilities-v1/shuffle");

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * HKDF-Extract(salt = snapshot nonce, IKM = master secret): the snapshot's pseudorandom key.
 * Requires a master secret of at least 32 bytes and a 32-byte nonce, fresh for every snapshot.
 */
export function snapshotPrk(masterSecret: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (masterSecret.length < 32) throw new InvalidArgumentError("master secret shorter than 32 bytes");
  if (nonce.length !== 32) throw new InvalidArgumentError("snapshot nonce must be 32 bytes");
  return extract(sha256, masterSecret, nonce);
}

/** Key and salt of the leaf of the account with pseudonym `pseudonym` (32 bytes) for `asset32`. */
export function accountLeafSecrets(
  prk: Uint8Array,
  asset32: Uint8Array,
  pseudonym: Uint8Array,
  hkdfExpand: HkdfExpand = portableExpand,
) {
  const okm = hkdfExpand(prk, concat(INFO_LEAF, asset32, pseudonym), 64);
  return { key: okm.slice(0, 32), salt: okm.slice(32, 64) };
}

/** Key and salt of padding leaf `j` (balance 0). */
export function paddingLeafSecrets(
  prk: Uint8Array,
  asset32: Uint8Array,
  j: number,
  hkdfExpand: HkdfExpand = portableExpand,
) {
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, j);
  const okm = hkdfExpand(prk, concat(INFO_PADDING, asset32, n), 64);
  return { key: okm.slice(0, 32), salt: okm.slice(32, 64) };
}

/**
 * The snapshot's leaf order: position → input slot, where slots 0..n-1 are the accounts sorted by
 * pseudonym and n.. the padding leaves. Fisher–Yates over 2^height slots driven by the stream
 * SHA-256(seed ‖ counter[8]) read as big-endian uint32 words, with rejection so every draw is uniform.
 */
export function shufflePositions(prk: Uint8Array, asset32: Uint8Array, size: number) {
  const seed = expand(sha256, prk, concat(INFO_SHUFFLE, asset32), 32);
  const sha = new FixedLengthSha256(40);
  const block = sha.input;
  block.set(seed, 0);
  const bview = new DataView(block.buffer);
  const out = new Uint8Array(32);
  const words = new DataView(out.buffer);
  let counter = 0n;
  let w = 8;
  const next = (): number => {
    if (w === 8) {
      bview.setBigUint64(32, counter++);
      sha.digestInto(out, 0);
      w = 0;
    }
    return words.getUint32(4 * w++);
  };
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  for (let i = size - 1; i > 0; i--) {
    const range = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % range);
    let x = next();
    while (x >= limit) x = next();
    const j = x % range;
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** One customer sub-account's balance entering the tree. */
export interface LiabilityInput {
  /** The account's pseudonym (32 bytes), as in log leaves. */
  pseudonym: Uint8Array;
  balance: bigint;
}

export interface PlacedLeaf {
  /** Slot: < accounts.length for an account (sorted by pseudonym), else padding. */
  slot: number;
  key: Uint8Array;
  salt: Uint8Array;
  balance: bigint;
}

export interface LiabilitiesSnapshotTree {
  tree: SumTree;
  /** position → slot of the leaf placed there. */
  slots: Uint32Array;
  /** The leaf at `position` (0 ≤ position < 2^height); key and salt view the tree's own buffer. */
  leafAt(position: number): PlacedLeaf;
  /** The accounts sorted by pseudonym, in slot order. */
  accounts: LiabilityInput[];
  /** Pseudonym hex (lower case, no 0x) → leaf position. */
  positionOf: PositionIndex;
}

/**
 * Leaf positions by pseudonym, without a string per account: a binary search of the accounts
 * (sorted by pseudonym), then the slot's position.
 */
export interface PositionIndex {
  /** The position of the account whose pseudonym is `pseudonymHex` (64 lower-case hex digits, no 0x). */
  get(pseudonymHex: string): number | undefined;
  /** The number of accounts. */
  readonly size: number;
  /** Every account's position, ascending (leaf order). */
  values(): IterableIterator<number>;
}

/** The 32 bytes of 64 lower-case hex digits, or undefined for anything else. */
function lowerHex32(text: string): Uint8Array | undefined {
  if (text.length !== 64) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (v < 0) return undefined;
    out[i >> 1]! |= i & 1 ? v : v << 4;
  }
  return out;
}

function positionIndex(
  accounts: readonly LiabilityInput[],
  positionOfSlot: Uint32Array,
  slots: Uint32Array,
): PositionIndex {
  return {
    size: accounts.length,
    get(pseudonymHex: string) {
      const p = lowerHex32(pseudonymHex);
      if (!p) return undefined;
      let lo = 0;
      let hi = accounts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const c = compareBytes(accounts[mid]!.pseudonym, p);
        if (c === 0) return positionOfSlot[mid]!;
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
      return undefined;
    },
    *values() {
      for (let pos = 0; pos < slots.length; pos++) if (slots[pos]! < accounts.length) yield pos;
    },
  };
}

const HEX_DIGITS = "0123456789abcdef";
const hexChars = new Uint16Array(64);
/** Lower-case hex of up to 32 bytes, built in one string (no per-byte concatenation). */
function hexOf(b: Uint8Array): string {
  for (let i = 0; i < b.length; i++) {
    hexChars[2 * i] = HEX_DIGITS.charCodeAt(b[i]! >>> 4);
    hexChars[2 * i + 1] = HEX_DIGITS.charCodeAt(b[i]! & 15);
  }
  return String.fromCharCode.apply(null, hexChars.subarray(0, 2 * b.length) as unknown as number[]);
}

/**
 * The accounts sorted by pseudonym (bytewise). A numeric sort of (first pseudonym bits ‖ index)
 * packed into exact doubles does the bulk without a comparator; equal prefixes are then sorted
 * bytewise. Same order as sorting with {@link compareBytes}.
 */
function sortByPseudonym(accounts: readonly LiabilityInput[]): LiabilityInput[] {
  const n = accounts.length;
  const indexBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const keyBits = Math.min(48, 53 - indexBits); // ≥ 20 for n ≤ 2^33
  const packed = new Float64Array(n);
  const scale = 2 ** indexBits;
  const drop = 2 ** (48 - keyBits);
  for (let i = 0; i < n; i++) {
    const p = accounts[i]!.pseudonym;
    const top48 =
      p[0]! * 2 ** 40 + p[1]! * 2 ** 32 + ((p[2]! << 24) >>> 0) + ((p[3]! << 16) | (p[4]! << 8) | p[5]!);
    packed[i] = Math.floor(top48 / drop) * scale + i;
  }
  packed.sort();
  const out = new Array<LiabilityInput>(n);
  for (let i = 0; i < n; i++) out[i] = accounts[packed[i]! % scale]!;
  // Runs with the same prefix: finish bytewise.
  for (let i = 0; i < n;) {
    const key = Math.floor(packed[i]! / scale);
    let j = i + 1;
    while (j < n && Math.floor(packed[j]! / scale) === key) j++;
    if (j - i > 1) {
      const run = out.slice(i, j).sort((a, b) => compareBytes(a.pseudonym, b.pseudonym));
      for (let k = i; k < j; k++) out[k] = run[k - i]!;
    }
    i = j;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Places every account and the padding leaves at their shuffled positions and builds the tree.
 * Throws {@link BalanceOutOfRangeError} for any balance outside 0 ≤ b < 2^64, {@link TreeHeightError}
 * if 2^height < accounts, and InvalidArgumentError for a repeated pseudonym.
 */
export function buildLiabilitiesTree(params: {
  prk: Uint8Array;
  asset32: Uint8Array;
  height: number;
  accounts: readonly LiabilityInput[];
}): LiabilitiesSnapshotTree {
  const { prk, asset32, height } = params;
  checkHeight(height);
  const size = 2 ** height;
  if (params.accounts.length > size)
    throw new TreeHeightError("more accounts than the tree height allows", {
      details: `height ${height} holds ${size} leaves, found ${params.accounts.length} accounts`,
    });
  if (asset32.length !== 32) throw new InvalidArgumentError("asset must be 32 bytes");
  for (const a of params.accounts) {
    checkBalance(a.balance);
    if (a.pseudonym.length !== 32) throw new InvalidArgumentError("pseudonym must be 32 bytes");
  }
  const accounts = sortByPseudonym(params.accounts);
  for (let i = 1; i < accounts.length; i++)
    if (compareBytes(accounts[i - 1]!.pseudonym, accounts[i]!.pseudonym) === 0)
      throw new InvalidArgumentError("an account appears twice in a snapshot", {
        details: `pseudonym 0x${hexOf(accounts[i]!.pseudonym)}`,
      });
  const order = shufflePositions(prk, asset32, size);
  // key ‖ salt of every leaf, 64 bytes per position (no object per leaf: leafAt views it).
  const secrets = new Uint8Array(size * 64);
  // Level 0 of the tree, written in place: each leaf's hash ‖ balance as a 16-byte sum.
  const leaves = new Uint8Array(size * SUM_NODE_BYTES);
  const leavesView = new DataView(leaves.buffer);
  const positionOfSlot = new Uint32Array(accounts.length);
  const hkdf = new LeafSecretsExpander(prk, asset32);
  const leafSha = new FixedLengthSha256(LEAF_INPUT_BYTES);
  const leafIn = leafSha.input;
  const leafView = new DataView(leafIn.buffer);
  for (let pos = 0; pos < size; pos++) {
    const slot = order[pos]!;
    const account = accounts[slot];
    const o = 64 * pos;
    if (account) hkdf.account(account.pseudonym, secrets, o);
    else hkdf.padding(slot - accounts.length, secrets, o);
    const balance = account ? account.balance : 0n;
    // Leaf input: 0x00 ‖ key ‖ salt ‖ balance (liabilityLeafHash's bytes).
    for (let k = 0; k < 64; k++) leafIn[1 + k] = secrets[o + k]!;
    leafView.setBigUint64(65, balance);
    leafSha.digestInto(leaves, SUM_NODE_BYTES * pos);
    leavesView.setBigUint64(SUM_NODE_BYTES * pos + 40, balance);
    if (account) positionOfSlot[slot] = pos;
  }
  const tree = buildSumTreeFromLeaves(leaves, height);
  const leafAt = (position: number): PlacedLeaf => {
    if (!Number.isInteger(position) || position < 0 || position >= size)
      throw new InvalidArgumentError("leaf position out of range", {
        details: `expected 0..${size - 1}, found ${position}`,
      });
    const o = 64 * position;
    return {
      slot: order[position]!,
      key: secrets.subarray(o, o + 32),
      salt: secrets.subarray(o + 32, o + 64),
      balance: leavesView.getBigUint64(SUM_NODE_BYTES * position + 40),
    };
  };
  const positionOf = positionIndex(accounts, positionOfSlot, order);
  return { tree, slots: order, leafAt, accounts, positionOf };
}

/**
 * HKDF-Expand(prk, info, 64) (RFC 5869) for the leaf and padding infos, with the PRK's HMAC pads
 * folded once and the constant info prefixes written once: T1 = HMAC(prk, info ‖ 0x01) is the key,
 * T2 = HMAC(prk, T1 ‖ info ‖ 0x02) the salt. Same bytes as {@link accountLeafSecrets} and
 * {@link paddingLeafSecrets}.
 */
class LeafSecretsExpander {
  readonly #hmac: HmacSha256;
  // Two scratch buffers per info kind: [info ‖ 0x01] and [T1 ‖ info ‖ 0x02], with room for padding.
  readonly #leaf1: Uint8Array;
  readonly #leaf2: Uint8Array;
  readonly #pad1: Uint8Array;
  readonly #pad2: Uint8Array;
  readonly #leafPrefix: number;
  readonly #padPrefix: number;

  constructor(prk: Uint8Array, asset32: Uint8Array) {
    this.#hmac = new HmacSha256(prk);
    const leafPrefix = concat(INFO_LEAF, asset32);
    const padPrefix = concat(INFO_PADDING, asset32);
    this.#leafPrefix = leafPrefix.length;
    this.#padPrefix = padPrefix.length;
    const scratch = (prefix: Uint8Array, at: number, tail: number) => {
      const b = new Uint8Array(at + prefix.length + tail + 1 + 72);
      b.set(prefix, at);
      return b;
    };
    this.#leaf1 = scratch(leafPrefix, 0, 32);
    this.#leaf2 = scratch(leafPrefix, 32, 32);
    this.#pad1 = scratch(padPrefix, 0, 4);
    this.#pad2 = scratch(padPrefix, 32, 4);
  }

  account(pseudonym: Uint8Array, out: Uint8Array, offset: number): void {
    const p = this.#leafPrefix;
    this.#leaf1.set(pseudonym, p);
    this.#leaf2.set(pseudonym, 32 + p);
    this.#expand(this.#leaf1, this.#leaf2, p + 32, out, offset);
  }

  padding(j: number, out: Uint8Array, offset: number): void {
    const p = this.#padPrefix;
    const a = this.#pad1;
    const b = this.#pad2;
    a[p] = b[32 + p] = j >>> 24;
    a[p + 1] = b[33 + p] = (j >>> 16) & 0xff;
    a[p + 2] = b[34 + p] = (j >>> 8) & 0xff;
    a[p + 3] = b[35 + p] = j & 0xff;
    this.#expand(this.#pad1, this.#pad2, p + 4, out, offset);
  }

  #expand(first: Uint8Array, second: Uint8Array, infoLength: number, out: Uint8Array, offset: number) {
    first[infoLength] = 0x01;
    this.#hmac.hmacInto(first, infoLength + 1, out, offset);
    for (let k = 0; k < 32; k++) second[k] = out[offset + k]!;
    second[32 + infoLength] = 0x02;
    this.#hmac.hmacInto(second, 32 + infoLength + 1, out, offset + 32);
  }
}
