/**
 * Gas of CustodyAnchor.anchor at tree sizes 2^10, 2^20, 2^30 (longest consistency proofs) and with
 * a short proof, each at an even and an odd head index (two heads share a storage slot of head
 * info, so the parity changes the storage cost), of verifyInclusion, and of every CustodyEscrow transition, on Hardhat's network at the configured
 * hardfork (cancun). Not a test: prints a table and writes bench/out/gas.json.
 *
 *   npm run bench:gas
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Contract, ContractTransactionResponse } from "ethers";
import { UniformTree, leafHash } from "../test/contracts/support/reference-tree";
import { ANCHOR_COSIGNATURE_TYPES } from "../src/protocol/anchor-cosignature";

const { ethers } = hre;
const rows: { operation: string; detail: string; gas: number }[] = [];

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt || receipt.status !== 1) throw new Error("transaction failed");
  return Number(receipt.gasUsed);
}

function record(operation: string, detail: string, gas: number) {
  rows.push({ operation, detail, gas });
}

/** The first size m < n whose consistency proof to n is longest. */
function longestFrom(tree: UniformTree, n: number): number {
  const candidates = new Set<number>([n - 1, n - 2, n / 2 + 1, n / 2 - 1, n / 4 + 1, 3 * (n / 4) - 1, 5, 3]);
  let best = n - 1;
  for (const m of candidates) {
    if (m >= 1 && m < n && tree.consistencyProof(m, n).length > tree.consistencyProof(best, n).length)
      best = m;
  }
  return best;
}

/**
 * Anchors `sizes` in order on a fresh contract and returns the gas of the last anchor: its head
 * index is `sizes.length - 1`, so the number of earlier heads picks the parity of the measured one.
 * With `cosigned`, the contract has a cosigner (the second signer) and every head goes through
 * `anchorCosigned` with its EIP-712 signature.
 */
async function gasOfAnchorAfter(
  tree: UniformTree,
  sizes: number[],
  meta: string,
  cosigned = false,
): Promise<number> {
  const [admin, custodian] = await ethers.getSigners();
  const anchor = (await ethers.deployContract("CustodyAnchor", [
    admin!.address,
    2 * 86_400,
    cosigned ? custodian!.address : ethers.ZeroAddress,
  ])) as unknown as Contract;
  await anchor.grantRole(ethers.keccak256(ethers.toUtf8Bytes("ANCHORER_ROLE")), admin!.address);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "CustodyAnchor",
    version: "1",
    chainId,
    verifyingContract: await anchor.getAddress(),
  };
  let gas = 0;
  let previous = 0;
  for (const [headIndex, n] of sizes.entries()) {
    const proof = previous === 0 ? [] : tree.consistencyProof(previous, n);
    if (cosigned) {
      const signature = await custodian!.signTypedData(domain, COSIGNATURE_TYPES, {
        headIndex,
        previousSize: previous,
        newSize: n,
        newRoot: tree.root(n),
        metadataHash: meta,
      });
      gas = await gasOf(anchor.anchorCosigned(n, tree.root(n), proof, meta, signature));
    } else {
      gas = await gasOf(anchor.anchor(n, tree.root(n), proof, meta));
    }
    previous = n;
  }
  return gas;
}

// ethers wants mutable field lists; the shared definition is `as const`.
const COSIGNATURE_TYPES = {
  AnchorCosignature: [...ANCHOR_COSIGNATURE_TYPES.AnchorCosignature],
};

/** Records the anchor of `to` after `from` at an even head index, at an odd one, and their mean. */
async function recordParities(
  tree: UniformTree,
  label: string,
  from: number,
  to: number,
  meta: string,
  cosigned = false,
): Promise<number> {
  // Head index 2 (even): two heads before it; head index 1 (odd): one head before it.
  const even = await gasOfAnchorAfter(tree, [from - 1, from, to], meta, cosigned);
  const odd = await gasOfAnchorAfter(tree, [from, to], meta, cosigned);
  const hashes = tree.consistencyProof(from, to).length;
  const name = cosigned ? "anchorCosigned" : "anchor";
  const mean = Math.round((even + odd) / 2);
  record(`${name}, even head index`, `${label}, proof ${hashes} hashes`, even);
  record(`${name}, odd head index`, `${label}, proof ${hashes} hashes`, odd);
  record(`${name}, mean of the two`, `${label}, proof ${hashes} hashes`, mean);
  return mean;
}

async function benchAnchor() {
  const [admin] = await ethers.getSigners();
  const tree = new UniformTree(leafHash(Buffer.from("bench leaf")));
  const meta = ethers.keccak256(ethers.toUtf8Bytes("manifest"));
  for (const k of [10, 20, 30]) {
    const n = 2 ** k;
    const m = longestFrom(tree, n);
    if (k === 10)
      record("anchor (first head, index 0, no proof)", `size ${m}`, await gasOfAnchorAfter(tree, [m], meta));
    const plain = await recordParities(tree, `2^${k}: ${m} -> ${n}`, m, n, meta);
    if (k === 20) {
      // The same heads through anchorCosigned on a contract with a cosigner; the difference is
      // what the signature costs on its own (calldata, digest, ecrecover, checks).
      const cosigned = await recordParities(tree, `2^${k}: ${m} -> ${n}`, m, n, meta, true);
      record("anchorCosigned minus anchor (the signature alone)", `2^${k}, mean`, cosigned - plain);
      record(
        "anchorCosigned, first head (index 0, no proof)",
        `size ${m}`,
        await gasOfAnchorAfter(tree, [m], meta, true),
      );
    }
    // A typical batch: 1000 more leaves on top (a short proof).
    if (k === 20) await recordParities(tree, `2^${k} -> 2^${k} + 1000`, n, n + 1000, meta);
  }
  // verifyInclusion as a transaction would cost (eth_call gas estimate, includes the 21k base), on
  // heads that are not the latest (the latest head's info is also in the count word, one read less).
  const anchor = (await ethers.deployContract("CustodyAnchor", [
    admin!.address,
    2 * 86_400,
    ethers.ZeroAddress,
  ])) as unknown as Contract;
  await anchor.grantRole(ethers.keccak256(ethers.toUtf8Bytes("ANCHORER_ROLE")), admin!.address);
  let previous = 0;
  for (const n of [2 ** 10, 2 ** 20, 2 ** 30, 2 ** 30 + 1]) {
    await anchor.anchor(n, tree.root(n), previous === 0 ? [] : tree.consistencyProof(previous, n), meta);
    previous = n;
  }
  for (const [head, k] of [10, 20, 30].entries()) {
    const n = 2 ** k;
    const leaf = n - 1;
    const incl = tree.inclusionProof(leaf, n);
    if (!(await anchor.verifyInclusion(head, leaf, tree.leaf, incl)))
      throw new Error("inclusion proof rejected");
    const est = await anchor.verifyInclusion.estimateGas(head, leaf, tree.leaf, incl);
    record("verifyInclusion (eth_call estimate)", `2^${k}, proof ${incl.length} hashes`, Number(est));
  }
}

async function benchEscrow() {
  const [admin, platform, custodian, a1, a2, a3] = await ethers.getSigners();
  const escrow = (await ethers.deployContract("CustodyEscrow", [
    admin!.address,
    2 * 86_400,
  ])) as unknown as Contract;
  await escrow.grantRole(ethers.keccak256(ethers.toUtf8Bytes("PLATFORM_ROLE")), platform!.address);
  await escrow.grantRole(ethers.keccak256(ethers.toUtf8Bytes("CUSTODIAN_ROLE")), custodian!.address);
  const EUR = ethers.encodeBytes32String("EUR");
  await escrow.setCustodianThreshold(EUR, 1_000_000n);
  const now = await time.latest();
  let seq = 0;
  const terms = (over: Record<string, unknown> = {}) => ({
    payer: ethers.keccak256(ethers.toUtf8Bytes("payer")),
    payee: ethers.keccak256(ethers.toUtf8Bytes("payee")),
    asset: EUR,
    amount: 500_00n,
    approvers: [a1!.address, a2!.address, a3!.address],
    payerSideMask: 1,
    threshold: 2,
    autoReleaseAt: now + 86_400,
    expiresAt: now + 30 * 86_400,
    agreementHash: ethers.keccak256(ethers.toUtf8Bytes("agreement")),
    ...over,
  });
  const as = (s: unknown) => escrow.connect(s as never) as Contract;
  const fresh = async (over: Record<string, unknown> = {}) => {
    const id = ethers.keccak256(ethers.toUtf8Bytes(`escrow ${seq++}`));
    const gas = await gasOf(as(platform).createEscrow(id, terms(over)));
    return { id, gas };
  };

  const e1 = await fresh();
  record("escrow createEscrow", "2-of-3 approvers (one-time setup)", e1.gas);
  record("escrow approve", "below threshold", await gasOf(as(a1).approve(e1.id)));
  record("escrow approve", "reaches threshold, releases in the same tx", await gasOf(as(a2).approve(e1.id)));

  const e2 = await fresh({ amount: 2_000_000n });
  await as(a1).approve(e2.id);
  await as(a2).approve(e2.id);
  record(
    "escrow approveAsCustodian",
    "last approval, releases in the same tx",
    await gasOf(as(custodian).approveAsCustodian(e2.id)),
  );

  const e3 = await fresh();
  record("escrow dispute", "payer-side approver", await gasOf(as(a1).dispute(e3.id)));
  record(
    "escrow resolveDispute",
    "custodian releases",
    await gasOf(as(custodian).resolveDispute(e3.id, true)),
  );
  const e4 = await fresh();
  await as(a1).dispute(e4.id);
  record(
    "escrow resolveDispute",
    "custodian refunds",
    await gasOf(as(custodian).resolveDispute(e4.id, false)),
  );

  const e5 = await fresh();
  const e6 = await fresh({ autoReleaseAt: 0 });
  const e7 = await fresh();
  await time.increaseTo(now + 2 * 86_400);
  record("escrow release", "auto-release after its time", await gasOf(as(a3).release(e5.id)));
  await time.increaseTo(now + 31 * 86_400);
  record("escrow refund", "after expiry, no auto-release", await gasOf(as(a3).refund(e6.id)));
  record("escrow release", "auto-release nobody sent before expiry", await gasOf(as(a3).release(e7.id)));
}

/** CustodySolvency: attestations (direct and by EIP-712 signature) and snapshot commitments, each first and second of its day. */
async function benchSolvency() {
  const [admin, platform, custodian, relayer] = await ethers.getSigners();
  const tree = new UniformTree(leafHash(Buffer.from("bench leaf")));
  const anchor = (await ethers.deployContract("CustodyAnchor", [
    admin!.address,
    2 * 86_400,
    ethers.ZeroAddress,
  ])) as unknown as Contract;
  await anchor.grantRole(ethers.keccak256(ethers.toUtf8Bytes("ANCHORER_ROLE")), admin!.address);
  await anchor.anchor(2 ** 20, tree.root(2 ** 20), [], ethers.ZeroHash);
  const solvency = (await ethers.deployContract("CustodySolvency", [
    admin!.address,
    2 * 86_400, // admin transfer delay
    await anchor.getAddress(),
  ])) as unknown as Contract;
  await solvency.grantRole(ethers.keccak256(ethers.toUtf8Bytes("PLATFORM_ROLE")), platform!.address);
  await solvency.grantRole(ethers.keccak256(ethers.toUtf8Bytes("CUSTODIAN_ROLE")), custodian!.address);
  const as = (s: unknown) => solvency.connect(s as never) as Contract;
  const EUR = ethers.encodeBytes32String("EUR");
  const statement = ethers.keccak256(ethers.toUtf8Bytes("statement"));
  const root = ethers.keccak256(ethers.toUtf8Bytes("root"));
  const { chainId } = await ethers.provider.getNetwork();
  const domain = {
    name: "CustodySolvency",
    version: "1",
    chainId,
    verifyingContract: await solvency.getAddress(),
  };
  const types = {
    ReservesAttestation: [
      { name: "asset", type: "bytes32" },
      { name: "day", type: "uint32" },
      { name: "reserves", type: "uint128" },
      { name: "statementHash", type: "bytes32" },
    ],
  };
  const sign = (day: number, reserves: bigint) =>
    custodian!.signTypedData(domain, types, { asset: EUR, day, reserves, statementHash: statement });
  const big = 123_456_789_012_345n;
  record(
    "solvency attestReserves",
    "first of its day",
    await gasOf(as(custodian).attestReserves(EUR, 1, big, statement)),
  );
  record(
    "solvency commitSnapshot",
    "second of its day (compares, emits ReservesCovered)",
    await gasOf(as(platform).commitSnapshot(EUR, 1, 2 ** 20, root, big, 2 ** 20)),
  );
  record(
    "solvency commitSnapshot",
    "first of its day",
    await gasOf(as(platform).commitSnapshot(EUR, 2, 2 ** 20, root, big, 2 ** 20)),
  );
  record(
    "solvency attestReserves",
    "second of its day (compares, emits ReservesShortfall)",
    await gasOf(as(custodian).attestReserves(EUR, 2, big - 1n, statement)),
  );
  record(
    "solvency attestReservesWithSignature",
    "first of its day, sent by the relayer",
    await gasOf(as(relayer).attestReservesWithSignature(EUR, 3, big, statement, await sign(3, big))),
  );
  await as(platform).commitSnapshot(EUR, 4, 2 ** 20, root, big, 2 ** 20);
  record(
    "solvency attestReservesWithSignature",
    "second of its day (compares), sent by the relayer",
    await gasOf(as(relayer).attestReservesWithSignature(EUR, 4, big, statement, await sign(4, big))),
  );
}

async function main() {
  await benchAnchor();
  await benchEscrow();
  await benchSolvency();
  const width = Math.max(...rows.map((r) => r.operation.length));
  const dwidth = Math.max(...rows.map((r) => r.detail.length));
  console.log(
    `hardfork ${(hre.network.config as { hardfork?: string }).hardfork ?? "default"}, solc ${hre.config.solidity.compilers[0]?.version}`,
  );
  console.log(`${"operation".padEnd(width)}  ${"detail".padEnd(dwidth)}  gas`);
  for (const r of rows) console.log(`${r.operation.padEnd(width)}  ${r.detail.padEnd(dwidth)}  ${r.gas}`);
  const out = path.join(__dirname, "out");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, "gas.json"),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        hardfork: (hre.network.config as { hardfork?: string }).hardfork,
        rows,
      },
      null,
      2,
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
