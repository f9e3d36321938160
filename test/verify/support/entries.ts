import { createHash } from "node:crypto";
import { bytesToHex, type Hex } from "viem";
import { encodeLeaf, type LeafEntry } from "../../../src/protocol/leaf-v1";
import { refConsistencyProof, refInclusionPath, refLeafHash, refRoot } from "../../support/rfc9162";

/** Deterministic test entries and their tree, built with the independent reference (not src/log). */

function h(label: string): Hex {
  return bytesToHex(createHash("sha256").update(label).digest());
}

export function makeEntry(sequence: number, over: Partial<LeafEntry> = {}): LeafEntry {
  return {
    version: 1,
    eventType: "TRANSFER_POSTED",
    sequence,
    timestamp: 1_795_000_000_000 + sequence * 1000,
    salt: h(`salt:${sequence}`),
    entryId: h(`transfer:${sequence}`),
    debitAccount: h(`account:platform`),
    creditAccount: h(`account:user-${sequence % 3}`),
    asset: "EUR",
    amount: 10_000n + BigInt(sequence) * 125n,
    code: 1,
    reference: h(`ref:${sequence}`),
    metadataHash: h(`meta:${sequence}`),
    ...over,
  };
}

export interface TestTree {
  entries: LeafEntry[];
  leafHashes: Buffer[];
  /** Root of the first `size` leaves. */
  root(size: number): Hex;
  /** Inclusion proof of `index` in the tree of the first `size` leaves. */
  proof(index: number, size: number): Hex[];
}

export function makeTree(n: number): TestTree {
  const entries = Array.from({ length: n }, (_, i) => makeEntry(i));
  const leafHashes = entries.map((e) => refLeafHash(encodeLeaf(e)));
  return {
    entries,
    leafHashes,
    root: (size) => bytesToHex(refRoot(leafHashes.slice(0, size))),
    proof: (index, size) => refInclusionPath(index, leafHashes.slice(0, size)).map((b) => bytesToHex(b)),
  };
}

/** Consistency proof from the first `size1` leaves of `tree` to the first `size2`. */
export function consistencyProof(tree: TestTree, size1: number, size2: number): Hex[] {
  return refConsistencyProof(size1, tree.leafHashes.slice(0, size2)).map((b) => bytesToHex(b));
}
