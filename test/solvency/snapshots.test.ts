import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { commitSnapshot } from "../../src/chain/actions/commit-snapshot";
import { attestReserves } from "../../src/chain/actions/attest-reserves";
import { readSolvencyDay } from "../../src/chain/actions/read-solvency-day";
import { signReservesAttestation } from "../../src/chain/actions/sign-reserves-attestation";
import { attestReservesWithSignature } from "../../src/chain/actions/attest-reserves-with-signature";
import { readSolvencyEvents } from "../../src/chain/actions/read-solvency-events";
import { dayNumberOf, type BalanceProofJson } from "../../src/protocol/balance-proof-v1";
import {
  NotInSnapshotError,
  SnapshotRefusedError,
  SolvencySnapshots,
  auditSolvency,
  documentHashOf,
} from "../../src/solvency";
import { verifyBalanceProof } from "../../src/verify/balance-proof";
import { openSolvencyWorld, type SolvencyWorld } from "./support";

const SECRET = new Uint8Array(32).fill(0x5a);
const BIN = path.join(__dirname, "..", "..", "bin", "custody");

function custody(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function rejects(p: Promise<unknown>, cls: abstract new (...a: never[]) => Error) {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(cls);
    return e as Error;
  }
  expect.fail(`expected ${cls.name}`);
}

describe("solvency: snapshots, balance proofs and reserves on a real chain", function () {
  let w: SolvencyWorld;
  let snapshots: SolvencySnapshots;

  before(async function () {
    w = await openSolvencyWorld();
    const platform = w.chain.clientsOf(w.chain.accounts.relayer);
    snapshots = new SolvencySnapshots({
      db: w.db,
      ledger: w.ledger,
      masterSecret: SECRET,
      minHeight: 2,
      facts: w.ledger,
      commit: (p) => commitSnapshot(platform, { address: w.chain.deployment.custodySolvency!, ...p }),
      chain: { chainId: w.chain.node.chainId, solvencyContract: w.chain.deployment.custodySolvency! },
    });
  });
  after(async () => w?.close());

  const custodian = () => w.chain.clientsOf(w.chain.accounts.custodian);
  const rpc = () => ({ rpcUrl: w.chain.node.rpcUrl });

  it("snapshots only customer sub-accounts: the root sum is the customers' total, platform funds excluded", async function () {
    const logSize = await w.anchorLog();
    const snap = await snapshots.take({ asset: "EUR", day: "2026-12-01", logSize });
    // alice 10 000 - 1 000 - 100, bob 2 500 + 1 000, carol 0; own 1 000 000 and fees 100 never enter.
    expect(snap.rootSum).to.equal(8_900n + 3_500n);
    expect(snap.accountCount).to.equal(3);
    expect(snap.height).to.equal(2);
    expect(snap.commitTx).to.match(/^0x[0-9a-f]{64}$/);
    const fact = await w.ledger.getFact(snap.id);
    expect([fact.kind, fact.documentHash, fact.asset, fact.amount]).to.deep.equal([
      "LIABILITIES_SNAPSHOT",
      snap.documentHash,
      "EUR",
      snap.rootSum,
    ]);
    // The fact is logged after the snapshot's log size: it is not part of what it summarises.
    expect(fact.sequence).to.be.at.least(logSize);
    const onChain = await readSolvencyDay(w.chain.clients.publicClient, {
      address: w.chain.deployment.custodySolvency!,
      asset: "EUR",
      dayNumber: dayNumberOf("2026-12-01"),
    });
    expect(onChain.commitment).to.deep.equal({
      rootHash: snap.rootHash,
      rootSum: snap.rootSum,
      logSize,
      leafCount: 4,
    });
    // Taking it again returns the stored snapshot, sends nothing, records the same fact.
    const again = await snapshots.take({ asset: "EUR", day: "2026-12-01", logSize });
    expect(again).to.deep.equal(snap);
  });

  it("serves each customer a proof that verifies offline but not on chain until reserves are attested", async function () {
    const p = await snapshots.balanceProof("alice", "liabilities:EUR:2026-12-01");
    expect(p.leaf.balance).to.equal("8900");
    const v = await verifyBalanceProof(p, rpc());
    expect(v.ok).to.equal(false);
    expect(v.failedCheck).to.equal("reservesAttested");
    expect(v.checks.filter((c) => c.ok).map((c) => c.name)).to.include.members([
      "rootHash",
      "rootSum",
      "commitment",
    ]);
  });

  it("with reserves attested (EIP-712 signature sent by the relayer) every customer's proof verifies, every check shown", async function () {
    const c = w.chain.accounts.custodian;
    const statementHash = `0x${"ab".repeat(32)}` as Hex;
    const signature = await signReservesAttestation(c, {
      address: w.chain.deployment.custodySolvency!,
      chainId: w.chain.node.chainId,
      asset: "EUR",
      dayNumber: dayNumberOf("2026-12-01"),
      reserves: 12_400n,
      statementHash,
    });
    await attestReservesWithSignature(w.chain.clientsOf(w.chain.accounts.relayer), {
      address: w.chain.deployment.custodySolvency!,
      asset: "EUR",
      dayNumber: dayNumberOf("2026-12-01"),
      reserves: 12_400n,
      statementHash,
      signature,
    });
    for (const who of ["alice", "bob", "carol"]) {
      const v = await verifyBalanceProof(await snapshots.balanceProof(who), rpc());
      expect(v.ok, `${who}: ${v.reason}`).to.equal(true);
      expect(v.checks.map((x) => x.name)).to.deep.equal([
        "format",
        "balanceRange",
        "leafHash",
        "pathLength",
        "siblingSums",
        "rootHash",
        "rootSum",
        "chainId",
        "commitment",
        "reservesAttested",
        "reservesCoverLiabilities",
      ]);
    }
    const events = await readSolvencyEvents(w.chain.clients.publicClient, {
      address: w.chain.deployment.custodySolvency!,
      fromBlock: 0n,
      toBlock: await w.chain.clients.publicClient.getBlockNumber({ cacheTime: 0 }),
    });
    expect(events.map((e) => e.kind)).to.deep.equal(["ReservesAttested", "ReservesCovered"]);
    expect(events[0]).to.include({ asset: "EUR", custodian: c.address, reserves: 12_400n, statementHash });
  });

  it("rejects forged proofs: the wrong snapshot, a root not committed on chain, another contract", async function () {
    const good = await snapshots.balanceProof("bob");
    const wrongDay = structuredClone(good) as BalanceProofJson;
    wrongDay.snapshot.day = "2026-12-02";
    expect((await verifyBalanceProof(wrongDay, rpc())).failedCheck).to.equal("commitment");
    // A snapshot stored and proven off chain but never committed.
    const offChain = new SolvencySnapshots({
      db: w.db,
      ledger: w.ledger,
      masterSecret: SECRET,
      minHeight: 2,
      chain: { chainId: w.chain.node.chainId, solvencyContract: w.chain.deployment.custodySolvency! },
    });
    await offChain.take({ asset: "EUR", day: "2026-11-30", logSize: 8 });
    const uncommitted = await offChain.balanceProof("bob", "liabilities:EUR:2026-11-30");
    const v = await verifyBalanceProof(uncommitted, rpc());
    expect(v.ok).to.equal(false);
    expect(v.failedCheck).to.equal("commitment");
    const elsewhere = await verifyBalanceProof(good, {
      ...rpc(),
      expectedContract: w.chain.deployment.custodyAnchor,
    });
    expect(elsewhere.failedCheck).to.equal("chainId");
  });

  it("a proof is rejected when the attested reserves are below the root sum (shortfall)", async function () {
    const logSize = await w.anchorLog();
    await attestReserves(custodian(), {
      address: w.chain.deployment.custodySolvency!,
      asset: "EUR",
      dayNumber: dayNumberOf("2026-12-02"),
      reserves: 12_399n,
      statementHash: `0x${"cd".repeat(32)}`,
    });
    const snap = await snapshots.take({ asset: "EUR", day: "2026-12-02", logSize });
    const v = await verifyBalanceProof(await snapshots.balanceProof("carol", snap.id), rpc());
    expect(v.ok).to.equal(false);
    expect(v.failedCheck).to.equal("reservesCoverLiabilities");
    expect(v.reason).to.contain("shortfall of 1");
    const events = await readSolvencyEvents(w.chain.clients.publicClient, {
      address: w.chain.deployment.custodySolvency!,
      fromBlock: 0n,
      toBlock: await w.chain.clients.publicClient.getBlockNumber({ cacheTime: 0 }),
    });
    expect(events.at(-1)).to.include({
      kind: "ReservesShortfall",
      asset: "EUR",
      reserves: 12_399n,
      liabilities: 12_400n,
    });
  });

  it("refuses proofs for non-customer accounts and other assets, and snapshots beyond the log", async function () {
    await rejects(snapshots.balanceProof("own"), NotInSnapshotError);
    await rejects(snapshots.balanceProof("dora", "liabilities:EUR:2026-12-01"), NotInSnapshotError);
    await rejects(snapshots.take({ asset: "EUR", day: "2026-12-09", logSize: 10_000 }), SnapshotRefusedError);
  });

  it("custody verify-balance checks a proof file against the chain and prints every check", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-verify-balance-"));
    try {
      const good = await snapshots.balanceProof("alice", "liabilities:EUR:2026-12-01");
      fs.writeFileSync(path.join(dir, "good.json"), JSON.stringify(good));
      const ok = await custody(["verify-balance", path.join(dir, "good.json"), "--rpc", w.chain.node.rpcUrl]);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/^VALID {4}balance 8900 EUR on 2026-12-01/);
      expect(ok.stdout).to.match(/ok {4}reservesCoverLiabilities {2}reserves 12400 >= liabilities 12400/);
      const forged = structuredClone(good);
      forged.leaf.balance = "89000";
      fs.writeFileSync(path.join(dir, "forged.json"), JSON.stringify(forged));
      const bad = await custody([
        "verify-balance",
        path.join(dir, "forged.json"),
        "--rpc",
        w.chain.node.rpcUrl,
      ]);
      expect(bad.code).to.equal(1);
      expect(bad.stdout).to.match(/^INVALID/);
      expect(bad.stdout).to.match(/FAIL {2}leafHash/);
      const missing = await custody([
        "verify-balance",
        path.join(dir, "absent.json"),
        "--rpc",
        w.chain.node.rpcUrl,
      ]);
      expect(missing.code).to.equal(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the audit rebuilds every snapshot from the ledger, and names the first account that differs", async function () {
    const readChain = (asset: string, dayNumber: number) =>
      readSolvencyDay(w.chain.clients.publicClient, {
        address: w.chain.deployment.custodySolvency!,
        asset,
        dayNumber,
      });
    const clean = await auditSolvency({ snapshots, ledger: w.ledger, masterSecret: SECRET, readChain });
    expect(clean.snapshots).to.equal(3);
    // The 2026-11-30 snapshot was never committed: the chain check says so; the others are clean.
    expect(clean.findings.map((f) => [f.snapshotId, f.check])).to.deep.equal([
      ["liabilities:EUR:2026-11-30", "chain"],
    ]);
    // Understate bob in the stored document (and its hash, as an insider would).
    const bob = w.ledger.accountPseudonym("bob");
    const row =
      w.db.kind === "sqlite"
        ? (w.db.sqlite
            .prepare("SELECT document FROM solvency_snapshots WHERE id = ?")
            .get("liabilities:EUR:2026-12-01") as { document: string })
        : undefined;
    const doc = JSON.parse(row!.document) as { accounts: [string, string][] };
    for (const a of doc.accounts) if (a[0] === bob) a[1] = "1";
    const text = JSON.stringify(doc);
    if (w.db.kind === "sqlite")
      w.db.sqlite
        .prepare("UPDATE solvency_snapshots SET document = ?, document_hash = ? WHERE id = ?")
        .run(text, documentHashOf(text), "liabilities:EUR:2026-12-01");
    const tampered = await auditSolvency({ snapshots, ledger: w.ledger, masterSecret: SECRET });
    const ledgerFinding = tampered.findings.find((f) => f.check === "ledger");
    expect(ledgerFinding?.snapshotId).to.equal("liabilities:EUR:2026-12-01");
    expect(ledgerFinding?.account).to.equal(bob);
    expect(ledgerFinding?.message).to.contain("snapshot 1, ledger 3500");
    expect(tampered.findings.some((f) => f.check === "tree")).to.equal(true);
  });
});
