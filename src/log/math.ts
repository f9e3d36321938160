import { InvalidProofInputError } from "./errors";

/**
 * Integer helpers for tree sizes and indices up to 2^53 - 1 (JS bitwise operators stop at 2^32,
 * so these use BigInt or plain arithmetic). Browser-safe.
 */

/** True for non-negative safe integers. */
export function isSize(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** Number of bits needed to write x (0 for 0). */
export function bitLength(x: number): number {
  let n = 0;
  while (x >= 2 ** 32) {
    x = Math.floor(x / 2 ** 32);
    n += 32;
  }
  return x >= 1 ? n + 32 - Math.clz32(x) : n;
}

/** Largest power of two strictly below n. Requires n >= 2. */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

export function isPowerOfTwo(x: number): boolean {
  return x >= 1 && 2 ** (bitLength(x) - 1) === x;
}

function popcount(x: bigint): number {
  let c = 0;
  while (x > 0n) {
    c += Number(x & 1n);
    x >>= 1n;
  }
  return c;
}

/**
 * Splits an inclusion proof for (index, size) into the part inside the perfect subtree shared with
 * the right border (`inner`) and the border part (`border`); proof length = inner + border.
 * Requires 0 <= index < size.
 */
export function decomposeInclusion(index: number, size: number): { inner: number; border: number } {
  const i = BigInt(index);
  const inner = bitLength(Number(i ^ BigInt(size - 1)));
  const border = popcount(i >> BigInt(inner));
  return { inner, border };
}

/** Length of the RFC 9162 inclusion proof for leaf `index` in a tree of `size`. Requires index < size. */
export function inclusionProofLength(index: number, size: number): number {
  const { inner, border } = decomposeInclusion(index, size);
  return inner + border;
}

/** Length of the RFC 9162 consistency proof from size1 to size2. Requires 0 < size1 <= size2. */
export function consistencyProofLength(size1: number, size2: number): number {
  if (size1 === size2) return 0;
  const { inner, border } = decomposeInclusion(size1 - 1, size2);
  let shift = 0;
  for (let m = size1; m % 2 === 0; m /= 2) shift++;
  return (isPowerOfTwo(size1) ? 0 : 1) + (inner - shift) + border;
}

/** Requires a node range [start, start + count) at `level` that fits in a safe-integer tree (else InvalidProofInputError). */
export function checkNodeRange(level: number, start: number, count: number): void {
  if (
    !isSize(level) ||
    level > 52 ||
    !isSize(start) ||
    !isSize(count) ||
    count < 1 ||
    !isSize((start + count) * 2 ** level)
  )
    throw new InvalidProofInputError("node range must be non-negative integers with count >= 1", {
      details: `got level=${level}, start=${start}, count=${count}`,
    });
}
