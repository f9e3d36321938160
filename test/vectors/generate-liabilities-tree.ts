/**
 * Regenerates test/vectors/liabilities-tree-v1.json from src/protocol (liabilities tree and balance
 * proofs). Run: npx tsx test/vectors/generate-liabilities-tree.ts && npx prettier --write test/vectors.
 * The output is checked in; test/protocol/liabilities-tree.test.ts checks the code still produces it,
 * and the docs' outsider verifier (docs/balance-proof-v1.md) is run against its proofs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2";
import {
  buildLiabilitiesTree,
  liabilityLeafHash,
  liabilityNodeHash,
  snapshotPrk,
  sumTreeNode,
} from "../../src/protocol/liabilities-tree-v1";
import {
  assetBytes32,
  balanceProofFromTree,
  bytesToHex,
  type BalanceProofJson,
} from "../../src/protocol/balance-proof-v1";

const enc = new TextEncoder();
const bytes = (label: string) => sha256(enc.encode(label));

/** A fixed snapshot: 5 customers in a tree of height 3 (8 leaves, 3 of them padding). */
export const SNAPSHOT = {
  masterSecret: bytesToHex(bytes("vector master secret")),
  nonce: bytesToHex(bytes("vector snapshot nonce 2026-12-01")),
  asset: "EUR",
  day: "2026-12-01",
  logSize: 42,
  height: 3,
  chain: { chainId: 31337, solvencyContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as const },
  accounts: [
    { id: "alice", balance: 125_00n },
    { id: "bob", balance: 0n },
    { id: "carol", balance: 18_446_744_073_709_551_615n },
    { id: "dave", balance: 1n },
    { id: "erin", balance: 99_999n },
  ],
};

export function pseudonymOf(id: string) {
  return bytes(`vector pseudonym account:${id}`);
}

const hexToBytes = (h: string) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

export function buildVectors() {
  const prk = snapshotPrk(hexToBytes(SNAPSHOT.masterSecret), hexToBytes(SNAPSHOT.nonce));
  const asset32 = assetBytes32(SNAPSHOT.asset);
  const accounts = SNAPSHOT.accounts.map((a) => ({ pseudonym: pseudonymOf(a.id), balance: a.balance }));
  const built = buildLiabilitiesTree({ prk, asset32, height: SNAPSHOT.height, accounts });
  const proofs: BalanceProofJson[] = SNAPSHOT.accounts.map((a) => {
    const pseudonym = bytesToHex(pseudonymOf(a.id));
    const position = built.positionOf.get(pseudonym.slice(2))!;
    const leaf = built.leafAt(position);
    return balanceProofFromTree({
      tree: built.tree,
      position,
      key: leaf.key,
      salt: leaf.salt,
      balance: leaf.balance,
      account: { id: a.id, pseudonym },
      snapshot: { asset: SNAPSHOT.asset, day: SNAPSHOT.day, logSize: SNAPSHOT.logSize },
      chain: SNAPSHOT.chain,
    });
  });
  const k = bytes("key");
  const s = bytes("salt");
  return {
    description:
      "custody-liabilities-tree-v1 and custody-balance-proof-v1 vectors (docs/liabilities-tree-v1.md, " +
      "docs/balance-proof-v1.md). Leaf and node hashes, one full snapshot (HKDF keys, shuffled positions, " +
      "padding) with every customer's balance proof, and forged proofs with the check that must reject them.",
    leafHashes: [0n, 1n, 12_500n, 18_446_744_073_709_551_615n].map((balance) => ({
      key: bytesToHex(k),
      salt: bytesToHex(s),
      balance: balance.toString(),
      want: bytesToHex(liabilityLeafHash(k, s, balance)),
    })),
    nodeHashes: [
      [0n, 0n],
      [1n, 2n],
      [(1n << 64n) - 1n, (1n << 65n) - 1n],
    ].map(([l, r]) => ({
      leftHash: bytesToHex(bytes("left")),
      leftSum: l!.toString(),
      rightHash: bytesToHex(bytes("right")),
      rightSum: r!.toString(),
      want: bytesToHex(liabilityNodeHash(bytes("left"), l!, bytes("right"), r!)),
    })),
    snapshot: {
      masterSecret: SNAPSHOT.masterSecret,
      nonce: SNAPSHOT.nonce,
      asset: SNAPSHOT.asset,
      day: SNAPSHOT.day,
      logSize: SNAPSHOT.logSize,
      height: SNAPSHOT.height,
      accounts: SNAPSHOT.accounts.map((a) => ({
        id: a.id,
        pseudonym: bytesToHex(pseudonymOf(a.id)),
        balance: a.balance.toString(),
      })),
      want: {
        rootHash: bytesToHex(built.tree.rootHash),
        rootSum: built.tree.rootSum.toString(),
        leaves: Array.from(built.slots, (_, i) => built.leafAt(i)).map((l, i) => ({
          position: i,
          slot: l.slot,
          key: bytesToHex(l.key),
          salt: bytesToHex(l.salt),
          balance: l.balance.toString(),
          hash: bytesToHex(sumTreeNode(built.tree, 0, i).hash),
        })),
      },
      proofs,
    },
    rejections: forgeries(proofs[0]!, proofs[2]!),
  };
}

type Mutable = BalanceProofJson;

/** Forged variants of `p` (and one of `q`), each with the first check that must fail. */
function forgeries(p: BalanceProofJson, q: BalanceProofJson) {
  const clone = (): Mutable => JSON.parse(JSON.stringify(p)) as Mutable;
  const out: { desc: string; proof: unknown; wantCheck: string }[] = [];
  const add = (desc: string, wantCheck: string, edit: (m: Mutable) => void) => {
    const m = clone();
    edit(m);
    out.push({ desc, proof: m, wantCheck });
  };
  add("a negative sibling sum", "siblingSums", (m) => {
    m.path[1]!.sum = "-1";
  });
  add("a sibling sum above its level's range (2^65 at level 1)", "siblingSums", (m) => {
    m.path[1]!.sum = (1n << 65n).toString();
  });
  add("a sibling sum lowered, root sum left as committed (does not add up)", "rootHash", (m) => {
    m.path[0]!.sum = (BigInt(m.path[0]!.sum) === 0n ? 1n : BigInt(m.path[0]!.sum) - 1n).toString();
  });
  add("a root sum lowered below what the path adds up to", "rootSum", (m) => {
    m.snapshot.rootSum = (BigInt(m.snapshot.rootSum) - 1n).toString();
  });
  add("a changed balance", "leafHash", (m) => {
    m.leaf.balance = (BigInt(m.leaf.balance) + 1n).toString();
  });
  add("a changed balance with its leaf hash recomputed", "rootHash", (m) => {
    const b = BigInt(m.leaf.balance) + 1n;
    m.leaf.balance = b.toString();
    m.leaf.hash = bytesToHex(liabilityLeafHash(hexToBytes(m.leaf.key), hexToBytes(m.leaf.salt), b));
  });
  add("a changed salt", "leafHash", (m) => {
    m.leaf.salt = bytesToHex(bytes("another salt"));
  });
  add("a balance of 2^64", "balanceRange", (m) => {
    m.leaf.balance = (1n << 64n).toString();
  });
  add("a path shorter than the snapshot's height", "pathLength", (m) => {
    m.path.pop();
  });
  add("the wrong snapshot: another snapshot's root", "rootHash", (m) => {
    m.snapshot.rootHash = bytesToHex(bytes("another snapshot root"));
  });
  add("another customer's leaf with this customer's path", "rootHash", (m) => {
    m.leaf = JSON.parse(JSON.stringify(q.leaf)) as Mutable["leaf"];
    m.leaf.index = p.leaf.index;
  });
  add("not a balance proof", "format", (m) => {
    (m as { version: string }).version = "custody-receipt-v1";
  });
  return out;
}

if (require.main === module) {
  const file = join(__dirname, "liabilities-tree-v1.json");
  writeFileSync(file, JSON.stringify(buildVectors(), null, 2) + "\n");
  console.log(`wrote ${file}`);
}
