/**
 * The verifiable log: RFC 9162 hashing, proofs and verification, and the persistent tree store.
 * Browser code must import the browser-safe files directly (hash.ts, hex.ts, verify.ts, tree.ts,
 * errors.ts); this index also exports the Node-only store.
 */
export { type Hasher, HASH_SIZE, hashLeaf, hashChildren, emptyRoot, portableHasher } from "./hash";
export { nodeHasher } from "./node-hasher";
export { type Hex, toHex, toHash, equalBytes } from "./hex";
export {
  ProofError,
  RootMismatchError,
  ProofLengthError,
  IndexOutOfRangeError,
  InvalidProofInputError,
  LogAppendConflictError,
  LogArgumentError,
  LogCorruptError,
} from "./errors";
export {
  type HashLike,
  type InclusionProofParameters,
  type VerifyInclusionParameters,
  type VerifyConsistencyParameters,
  verifyInclusion,
  verifyConsistency,
  rootFromInclusionProof,
  isInclusionValid,
  isConsistencyValid,
} from "./verify";
export { inclusionProofLength, consistencyProofLength } from "./math";
export {
  type NodeId,
  type LeafRange,
  type NodeReader,
  MemoryTree,
  inclusionRanges,
  consistencyRanges,
  rangeNodes,
  hashRange,
} from "./tree";
export { MerkleFrontier } from "./frontier";
export { type LogStore, logMigrations, openLogStore } from "./store";
export { MemoryLogStore } from "./memory-store";
export { type LeafSource, syncLog } from "./sync";
