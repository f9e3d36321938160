import { type Hasher, portableHasher } from "./hash";
import { type Hex, equalBytes, toHash, toHex } from "./hex";
import { consistencyProofLength, inclusionProofLength, isPowerOfTwo, isSize } from "./math";
import {
  IndexOutOfRangeError,
  InvalidProofInputError,
  ProofError,
  ProofLengthError,
  RootMismatchError,
} from "./errors";

/**
 * RFC 9162 §2.1.3.2 and §2.1.4.2 proof verification. Browser-safe: imports nothing from Node; the
 * receipt checker page, the CLI and the API all use this file. Hashes are 32-byte 0x-hex (either
 * case) or Uint8Array. Every function either returns normally (valid) or throws a ProofError
 * subclass; nothing returns "valid" for an input it could not fully check.
 */

export type HashLike = Hex | Uint8Array;

export interface InclusionProofParameters {
  /** 0-based index of the leaf. Requires leafIndex < treeSize. */
  leafIndex: number;
  /** Size of the tree the proof is for. Requires treeSize >= 1. */
  treeSize: number;
  /** RFC 9162 leaf hash, SHA-256(0x00 ‖ leafBytes). */
  leafHash: HashLike;
  /** Audit path, bottom to top. */
  proof: readonly HashLike[];
}

export interface VerifyInclusionParameters extends InclusionProofParameters {
  rootHash: HashLike;
}

export interface VerifyConsistencyParameters {
  /** Size of the older tree. Requires 1 <= size1 <= size2. */
  size1: number;
  size2: number;
  root1: HashLike;
  root2: HashLike;
  proof: readonly HashLike[];
}

const half = (x: number): number => Math.floor(x / 2);
const odd = (x: number): boolean => x % 2 === 1;

function checkSize(v: unknown, what: string, min: number): number {
  if (!isSize(v) || v < min) {
    throw new InvalidProofInputError(`${what} must be an integer >= ${min}`, { details: `got ${String(v)}` });
  }
  return v;
}

function checkProofArray(proof: unknown): readonly HashLike[] {
  if (!Array.isArray(proof)) throw new InvalidProofInputError("proof must be an array of hashes");
  return proof as readonly HashLike[];
}

/**
 * The root that an inclusion proof implies (RFC 9162 §2.1.3.2 steps 1–4), without comparing it to
 * anything. Throws IndexOutOfRangeError, ProofLengthError or InvalidProofInputError.
 *
 * @example
 * const root = rootFromInclusionProof({ leafIndex: 2, treeSize: 5, leafHash, proof });
 */
export function rootFromInclusionProof(
  p: InclusionProofParameters,
  hasher: Hasher = portableHasher,
): Uint8Array {
  const treeSize = checkSize(p.treeSize, "treeSize", 1);
  if (!isSize(p.leafIndex))
    throw new InvalidProofInputError("leafIndex must be a non-negative integer", {
      details: `got ${String(p.leafIndex)}`,
    });
  if (p.leafIndex >= treeSize) throw new IndexOutOfRangeError(p.leafIndex, treeSize);
  const proof = checkProofArray(p.proof);
  const want = inclusionProofLength(p.leafIndex, treeSize);
  if (proof.length !== want) throw new ProofLengthError(want, proof.length);
  const path = proof.map((h, i) => toHash(h, `proof[${i}]`));
  let r = toHash(p.leafHash, "leafHash");

  let fn = p.leafIndex;
  let sn = treeSize - 1;
  for (const node of path) {
    if (sn === 0) throw new ProofLengthError(want, proof.length); // unreachable after the length check
    if (odd(fn) || fn === sn) {
      r = hasher.hashChildren(node, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hasher.hashChildren(r, node);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofLengthError(want, proof.length); // unreachable after the length check
  return r;
}

/**
 * Checks that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves whose root is
 * `rootHash` (RFC 9162 §2.1.3.2). Returns normally when valid; throws RootMismatchError,
 * ProofLengthError, IndexOutOfRangeError or InvalidProofInputError otherwise.
 *
 * @example
 * verifyInclusion({ leafIndex: 2, treeSize: 5, leafHash, proof, rootHash });
 */
export function verifyInclusion(p: VerifyInclusionParameters, hasher: Hasher = portableHasher): void {
  const root = toHash(p.rootHash, "rootHash");
  const calculated = rootFromInclusionProof(p, hasher);
  if (!equalBytes(calculated, root)) throw new RootMismatchError(toHex(root), toHex(calculated));
}

/**
 * Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with
 * root `root1` (RFC 9162 §2.1.4.2). When size1 === size2 the proof must be empty and the roots
 * equal. size1 = 0 is rejected (InvalidProofInputError): RFC 9162 defines consistency proofs for
 * 0 < size1 and every tree trivially extends the empty one.
 *
 * @example
 * verifyConsistency({ size1: 3, size2: 7, root1, root2, proof });
 */
export function verifyConsistency(p: VerifyConsistencyParameters, hasher: Hasher = portableHasher): void {
  const size1 = checkSize(p.size1, "size1", 1);
  const size2 = checkSize(p.size2, "size2", 1);
  if (size1 > size2)
    throw new InvalidProofInputError("size1 must not exceed size2", {
      details: `size1 ${size1}, size2 ${size2}`,
    });
  const proof = checkProofArray(p.proof);
  const want = consistencyProofLength(size1, size2);
  if (proof.length !== want) throw new ProofLengthError(want, proof.length);
  const path = proof.map((h, i) => toHash(h, `proof[${i}]`));
  const root1 = toHash(p.root1, "root1");
  const root2 = toHash(p.root2, "root2");

  if (size1 === size2) {
    if (!equalBytes(root1, root2)) throw new RootMismatchError(toHex(root1), toHex(root2), "second root");
    return;
  }
  // Step 2: a power-of-two first tree is a complete subtree; its root starts the path.
  let fn = size1 - 1;
  let sn = size2 - 1;
  const nodes = isPowerOfTwo(size1) ? [root1, ...path] : path;
  // Step 4
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5
  let fr = nodes[0];
  let sr = nodes[0];
  for (let i = 1; i < nodes.length; i++) {
    const c = nodes[i];
    if (sn === 0) throw new ProofLengthError(want, proof.length); // unreachable after the length check
    if (odd(fn) || fn === sn) {
      fr = hasher.hashChildren(c, fr);
      sr = hasher.hashChildren(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hasher.hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ProofLengthError(want, proof.length); // unreachable after the length check
  if (!equalBytes(fr, root1)) throw new RootMismatchError(toHex(root1), toHex(fr), "first root");
  if (!equalBytes(sr, root2)) throw new RootMismatchError(toHex(root2), toHex(sr), "second root");
}

/** verifyInclusion as a boolean: false for any ProofError (including malformed input). */
export function isInclusionValid(p: VerifyInclusionParameters, hasher?: Hasher): boolean {
  try {
    verifyInclusion(p, hasher);
    return true;
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
}

/** verifyConsistency as a boolean: false for any ProofError (including malformed input). */
export function isConsistencyValid(p: VerifyConsistencyParameters, hasher?: Hasher): boolean {
  try {
    verifyConsistency(p, hasher);
    return true;
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
}
