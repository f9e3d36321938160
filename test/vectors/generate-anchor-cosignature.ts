/**
 * Writes test/vectors/anchor-cosignature-v1.json: EIP-712 digests and signatures of CustodyAnchor
 * head cosignatures (src/protocol/anchor-cosignature.ts) from a fixed key. secp256k1 signing in viem
 * is deterministic (RFC 6979), so a rerun writes the same file. Checked in TS
 * (test/protocol/anchor-cosignature.test.ts) and against the contract's `cosignatureDigest`
 * (test/contracts/custody-anchor-cosigned.test.ts). Run: npx tsx test/vectors/generate-anchor-cosignature.ts
 */
import fs from "node:fs";
import path from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import {
  anchorCosignatureDigest,
  anchorCosignatureTypedData,
  type AnchorCosignatureMessage,
} from "../../src/protocol/anchor-cosignature";

// A fixed test key (never a real one): 0x11 repeated.
const PRIVATE_KEY = `0x${"11".repeat(32)}` as const;
const account = privateKeyToAccount(PRIVATE_KEY);
const root = (b: string) => `0x${b.repeat(32)}` as const;
const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;

const cases: AnchorCosignatureMessage[] = [
  // Hardhat's chain id: the contract test deploys the contract's code at CONTRACT and compares.
  {
    chainId: 31337,
    contract: CONTRACT,
    headIndex: 0n,
    previousSize: 0n,
    newSize: 1n,
    newRoot: root("aa"),
    metadataHash: root("00"),
  },
  {
    chainId: 31337,
    contract: CONTRACT,
    headIndex: 7n,
    previousSize: 1_048_575n,
    newSize: 1_048_576n,
    newRoot: root("5d"),
    metadataHash: root("01"),
  },
  {
    chainId: 31337,
    contract: CONTRACT,
    headIndex: 2n ** 48n - 2n,
    previousSize: 2n ** 48n - 2n,
    newSize: 2n ** 48n - 1n,
    newRoot: root("ff"),
    metadataHash: root("ee"),
  },
  // Same head, another chain and another contract: other digests.
  {
    chainId: 1,
    contract: CONTRACT,
    headIndex: 7n,
    previousSize: 1_048_575n,
    newSize: 1_048_576n,
    newRoot: root("5d"),
    metadataHash: root("01"),
  },
  {
    chainId: 31337,
    contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    headIndex: 7n,
    previousSize: 1_048_575n,
    newSize: 1_048_576n,
    newRoot: root("5d"),
    metadataHash: root("01"),
  },
];

async function main() {
  const vectors = [];
  for (const c of cases) {
    const signature = await account.signTypedData(anchorCosignatureTypedData(c));
    vectors.push({
      chainId: c.chainId,
      contract: c.contract,
      headIndex: c.headIndex.toString(),
      previousSize: c.previousSize.toString(),
      newSize: c.newSize.toString(),
      newRoot: c.newRoot,
      metadataHash: c.metadataHash,
      digest: anchorCosignatureDigest(c),
      signature,
    });
  }
  const doc = {
    description:
      "EIP-712 cosignatures of CustodyAnchor heads: domain {name: CustodyAnchor, version: 1, chainId, verifyingContract: contract}, type AnchorCosignature(uint256 headIndex,uint64 previousSize,uint64 newSize,bytes32 newRoot,bytes32 metadataHash). Signatures are r || s || v (65 bytes, low s, v 27/28) by the test key.",
    privateKey: PRIVATE_KEY,
    signer: account.address,
    vectors,
  };
  const file = path.join(__dirname, "anchor-cosignature-v1.json");
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`wrote ${file} (${vectors.length} vectors)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
