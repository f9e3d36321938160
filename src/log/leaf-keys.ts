/**
 * Pure layout of the leaf-hash lookup index (`log_leaf_keys`, migration log/002). A row is
 * (epoch, prefix, idx): epoch = idx >> LEAF_EPOCH_BITS, prefix = the first LEAF_PREFIX_BYTES bytes
 * of the leaf hash as an unsigned integer.
 *
 * Why epochs: leaf hashes are random, so a b-tree keyed by the hash alone takes every insert to a
 * random page of an ever larger index (each batch rewrites most of its pages; appends fell to
 * ~25k leaves/s at 10^6). Keyed by epoch first, a batch only touches the pages of the current
 * epoch (≤ 2^16 rows, ~1 MB); a lookup probes one (epoch, prefix) key per epoch and compares the
 * candidates' full hashes against the stored leaves (the prefix is only a filter).
 */
export const LEAF_EPOCH_BITS = 16;
export const LEAF_EPOCH_SIZE = 2 ** LEAF_EPOCH_BITS;
/** 6 bytes: a safe JS integer; ~2^-32 false candidates per probe of a full epoch. */
export const LEAF_PREFIX_BYTES = 6;

/** Epoch of leaf `index`. */
export function leafEpoch(index: number): number {
  return Math.floor(index / LEAF_EPOCH_SIZE);
}

/** The first LEAF_PREFIX_BYTES bytes of a leaf hash, big-endian, as a non-negative integer. Requires 32 bytes. */
export function leafPrefix(leafHash: Uint8Array): number {
  let p = 0;
  for (let i = 0; i < LEAF_PREFIX_BYTES; i++) p = p * 256 + leafHash[i];
  return p;
}

/** Number of epochs holding leaves of a tree of `size` leaves. */
export function epochCount(size: number): number {
  return Math.ceil(size / LEAF_EPOCH_SIZE);
}

/**
 * SQLite expression computing leafPrefix from the BLOB column `col` (SQLite has no blob-to-integer
 * function): the value of the first 2·LEAF_PREFIX_BYTES hex digits. Used once, by the migration.
 */
export function sqlitePrefixExpression(col: string): string {
  const terms: string[] = [];
  for (let k = 0; k < 2 * LEAF_PREFIX_BYTES; k++)
    terms.push(
      `(instr('0123456789ABCDEF', substr(hex(${col}), ${k + 1}, 1)) - 1) * ${16 ** (2 * LEAF_PREFIX_BYTES - 1 - k)}`,
    );
  return terms.join(" + ");
}

/**
 * Per sealed epoch, a bitmap over the top LEAF_FILTER_BITS bits of the prefixes it holds
 * (`log_leaf_filters`, migration log/003): a lookup probes only the epochs whose bit is set
 * (~12 % of full epochs by chance, 2^16 keys in 2^19 bits) instead of every epoch. A sealed epoch
 * never changes, so neither does its filter.
 */
export const LEAF_FILTER_BITS = 19;
export const LEAF_FILTER_BYTES = 2 ** LEAF_FILTER_BITS / 8;

function filterBit(prefix: number): number {
  return Math.floor(prefix / 2 ** (8 * LEAF_PREFIX_BYTES - LEAF_FILTER_BITS));
}

/** The filter of a set of prefixes. */
export function buildLeafFilter(prefixes: Iterable<number>): Uint8Array {
  const bits = new Uint8Array(LEAF_FILTER_BYTES);
  for (const p of prefixes) {
    const b = filterBit(p);
    bits[b >>> 3] |= 1 << (b & 7);
  }
  return bits;
}

/** False only if no leaf with this prefix is in the filtered epoch. */
export function leafFilterMayHave(bits: Uint8Array, prefix: number): boolean {
  const b = filterBit(prefix);
  return (bits[b >>> 3] & (1 << (b & 7))) !== 0;
}

/** Epochs that an append from `oldSize` to `newSize` leaves seals (fills completely). */
export function sealedEpochs(oldSize: number, newSize: number): number[] {
  const out: number[] = [];
  for (let e = leafEpoch(oldSize); (e + 1) * LEAF_EPOCH_SIZE <= newSize; e++) out.push(e);
  return out;
}
