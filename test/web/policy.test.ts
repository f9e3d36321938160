import { expect } from "chai";
import express from "express";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2";
import type { Browser, Page } from "playwright-core";
import { attestReserves } from "../../src/chain/actions/attest-reserves";
import { commitSnapshot } from "../../src/chain/actions/commit-snapshot";
import {
  assetBytes32,
  balanceProofFromTree,
  bytesToHex,
  dayNumberOf,
  type BalanceProofJson,
} from "../../src/protocol/balance-proof-v1";
import { cosignatureSigner, formatCheckpoint } from "../../src/protocol/checkpoint";
import { buildLiabilitiesTree, snapshotPrk } from "../../src/protocol/liabilities-tree-v1";
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  formatVerifierKey,
  signNote,
  type NoteSigner,
} from "../../src/protocol/note";
import { TRUST_POLICY_VERSION } from "../../src/protocol/trust-policy";
import { createReceiptV2, type ReceiptAnchor, type ReceiptV2Json } from "../../src/verify";
import { buildWeb } from "../../web/build";
import { STANDALONE_PAGE } from "../../web/standalone";
import { webRouter } from "../../web/serve";
import { launchChromium } from "../support/browser";
import { startChainFixture, type ChainFixture } from "../verify/support/chain";

/**
 * The receipt page under the user's own trust policy, in a real Chromium against a real anvil:
 * receipts v2 with signed checkpoints and witness cosignatures, lookalike contracts, the page opened
 * as a local file with only an RPC endpoint, and the balance-proof tab against CustodySolvency.
 */

const ORIGIN = "custody.test/log";
const seed = (b: number) => new Uint8Array(32).fill(b);
const logSigner = ed25519NoteSigner(ORIGIN, seed(0x31));
const witnesses = [
  { name: "bank.test/witness", seed: seed(0x32) },
  { name: "auditor.test/witness", seed: seed(0x33) },
];
const cosigners = witnesses.map((w) => cosignatureSigner(w.name, w.seed, () => 1_795_000_300));
const SNAPSHOT = { asset: "EUR", day: "2026-12-01", height: 3 };

describe("web: receipt page under the user's trust policy, in Chromium", function () {
  let fx: ChainFixture;
  let tmp: string;
  let dist: string;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;
  let policy: Record<string, unknown>;
  let proof: BalanceProofJson;
  const platformRequests: string[] = [];

  const checkpointOf = (anchor: ReceiptAnchor, signers: NoteSigner[]) =>
    signNote(formatCheckpoint({ origin: ORIGIN, size: anchor.treeSize, rootHash: anchor.rootHash }), signers);
  const receiptV2 = (index: number, anchor: ReceiptAnchor, signers: NoteSigner[]): ReceiptV2Json =>
    createReceiptV2({
      entry: fx.tree.entries[index],
      anchor,
      inclusionProof: fx.tree.proof(index, anchor.treeSize),
      issuedAt: new Date(anchor.timestamp * 1000 + 1000),
      checkpoint: checkpointOf(anchor, signers),
    });

  before(async () => {
    fx = await startChainFixture();
    tmp = await mkdtemp(path.join(os.tmpdir(), "custody-web-policy-"));
    dist = await buildWeb(path.join(tmp, "dist"));
    const solvency = fx.dev.deployment.custodySolvency!;
    policy = {
      version: TRUST_POLICY_VERSION,
      name: "Test custodian bank",
      chainId: fx.chainId,
      anchorContract: fx.anchorA,
      reservesContract: solvency,
      log: {
        origin: ORIGIN,
        vkey: formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, ed25519.getPublicKey(seed(0x31))),
      },
      witnesses: {
        quorum: 2,
        vkeys: witnesses.map((w) =>
          formatVerifierKey(w.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(w.seed)),
        ),
      },
    };

    // A liabilities snapshot committed on chain at the anchored size, and the bank's attestation.
    const enc = new TextEncoder();
    const accounts = ["alice", "bob", "carol"].map((id, i) => ({
      id,
      pseudonym: sha256(enc.encode(`web test pseudonym ${id}`)),
      balance: BigInt(1000 * (i + 1)),
    }));
    const built = buildLiabilitiesTree({
      prk: snapshotPrk(seed(0x41), seed(0x42)),
      asset32: assetBytes32(SNAPSHOT.asset),
      height: SNAPSHOT.height,
      accounts,
    });
    const alice = bytesToHex(accounts[0].pseudonym);
    const position = built.positionOf.get(alice.slice(2))!;
    const leaf = built.leafAt(position);
    proof = balanceProofFromTree({
      tree: built.tree,
      position,
      key: leaf.key,
      salt: leaf.salt,
      balance: leaf.balance,
      account: { id: "alice", pseudonym: alice },
      snapshot: { asset: SNAPSHOT.asset, day: SNAPSHOT.day, logSize: fx.headsA[1].treeSize },
      chain: { chainId: fx.chainId, solvencyContract: solvency.toLowerCase() as `0x${string}` },
    });
    const dayNumber = dayNumberOf(SNAPSHOT.day);
    await commitSnapshot(fx.dev.clientsOf(fx.dev.accounts.relayer), {
      address: solvency,
      asset: SNAPSHOT.asset,
      dayNumber,
      logSize: fx.headsA[1].treeSize,
      rootHash: bytesToHex(built.tree.rootHash),
      rootSum: built.tree.rootSum,
      leafCount: 2 ** SNAPSHOT.height,
    });
    await attestReserves(fx.dev.clientsOf(fx.dev.accounts.custodian), {
      address: solvency,
      asset: SNAPSHOT.asset,
      dayNumber,
      reserves: built.tree.rootSum + 500n,
      statementHash: `0x${"5a".repeat(32)}`,
    });

    const app = express();
    app.use((req, _res, next) => {
      platformRequests.push(req.path);
      next();
    });
    app.get("/v1/config", (_req, res) => {
      res.json({
        chainId: fx.chainId,
        rpcUrl: fx.rpcUrl,
        custodyAnchor: fx.anchorA,
        suggestedTrustPolicy: { ...policy, name: "Platform's own suggestion" },
      });
    });
    // Stands for the bank's or the regulator's publication of its policy.
    app.get("/bank/policy.json", (_req, res) => {
      res.json(policy);
    });
    app.use(webRouter({ distDir: dist }));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await fx?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function openPage(url = baseUrl + "/"): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  async function loadPolicyFromUrl(page: Page): Promise<void> {
    await page.fill("#policy-url", `${baseUrl}/bank/policy.json`);
    await page.click("#policy-url-btn");
    await page.waitForSelector('#policy-panel[data-source="url"]');
  }

  type Verdict = { state: string; title: string; reason: string; text: string; failed: string[] };

  async function verdictOf(page: Page, box = "verdict", button = "#verify-btn"): Promise<Verdict> {
    await page.click(button);
    await page.waitForFunction(
      (id) => ["valid", "invalid", "error"].includes(document.getElementById(id)!.dataset.state ?? ""),
      box,
    );
    return page.evaluate((id) => {
      const root = document.getElementById(id)!;
      return {
        state: root.dataset.state!,
        title: document.getElementById(`${id}-title`)!.textContent!,
        reason: document.getElementById(`${id}-reason`)!.textContent!,
        text: root.textContent!,
        failed: Array.from(root.querySelectorAll('li[data-ok="false"]')).map((li) =>
          li.getAttribute("data-check")!,
        ),
      };
    }, box);
  }

  async function checkUnderPolicy(receipt: unknown): Promise<Verdict> {
    const page = await openPage();
    try {
      await loadPolicyFromUrl(page);
      await page.fill("#receipt-input", JSON.stringify(receipt, null, 2));
      return await verdictOf(page);
    } finally {
      await page.close();
    }
  }

  it("a policy loaded by URL is shown with everything it pins, kept across reloads, and verifies a v2 receipt", async () => {
    const page = await openPage();
    try {
      await loadPolicyFromUrl(page);
      const panel = await page.textContent("#policy-panel");
      expect(await page.textContent("#policy-badge")).to.equal(
        "Policy in use: Test custodian bank (your own)",
      );
      expect(panel).to.include(`loaded from ${baseUrl}/bank/policy.json`);
      expect(panel).to.include(String(fx.chainId));
      expect(panel).to.include(fx.anchorA);
      expect(panel).to.include(`${ORIGIN} · key ${ORIGIN}+`);
      expect(await page.textContent("#policy-witnesses")).to.equal("bank.test/witness, auditor.test/witness");
      expect(panel).to.include("2 of 2");
      expect(await page.inputValue("#contract")).to.equal(fx.anchorA);
      expect(await page.isDisabled("#contract")).to.equal(true);

      await page.reload();
      await page.waitForSelector("body[data-ready=true]");
      expect(await page.getAttribute("#policy-panel", "data-source")).to.equal("url");

      await page.fill(
        "#receipt-input",
        JSON.stringify(receiptV2(7, fx.headsA[1], [logSigner, ...cosigners])),
      );
      const v = await verdictOf(page);
      expect(v.state, v.reason).to.equal("valid");
      expect(v.text).to.include("Trust policyTest custodian bank");
      expect(v.text).to.include("Witnessesbank.test/witness, auditor.test/witness");
      const passed = await page.$$eval('#verdict-checks li[data-ok="true"]', (lis) =>
        lis.map((li) => li.getAttribute("data-check")),
      );
      expect(passed).to.include.members([
        "checkpointAnchor",
        "trustPolicy",
        "checkpointSignature",
        "witnessQuorum",
        "onChainInclusion",
      ]);
      await page.screenshot({ path: path.join(os.tmpdir(), "custody-receipt-policy.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("refuses a receipt from a lookalike contract under the policy, before reading the chain", async () => {
    // Contract B holds the very same head, cosigned: only the policy tells it from the real one.
    const v = await checkUnderPolicy(receiptV2(3, fx.headB, [logSigner, ...cosigners]));
    expect(v.state).to.equal("invalid");
    expect(v.failed).to.deep.equal(["trustPolicy"]);
    expect(v.text, "no on-chain check ran").to.not.include("contractCode");
    expect(v.reason).to.include("the receipt's anchor contract is not the trust policy's");
    expect(v.reason).to.include(fx.anchorB);
  });

  it("refuses a checkpoint without enough cosignatures, and one signed by another log key", async () => {
    const short = await checkUnderPolicy(receiptV2(7, fx.headsA[1], [logSigner, cosigners[0]]));
    expect(short.state).to.equal("invalid");
    expect(short.failed).to.deep.equal(["witnessQuorum"]);
    expect(short.reason).to.include("checkpoint has 1 valid witness cosignatures, the policy needs 2");
    const rogue = ed25519NoteSigner(ORIGIN, seed(0x66));
    const forged = await checkUnderPolicy(receiptV2(7, fx.headsA[1], [rogue, ...cosigners]));
    expect(forged.state).to.equal("invalid");
    expect(forged.failed[0]).to.equal("checkpointSignature");
  });

  it("marks the policy /v1/config suggests as supplied by the platform, not independent", async () => {
    const page = await openPage();
    try {
      expect(await page.getAttribute("#policy-panel", "data-source")).to.equal("none");
      await page.click("#policy-suggested-btn");
      await page.waitForSelector('#policy-panel[data-source="platform"]');
      expect(await page.textContent("#policy-badge")).to.equal(
        "Policy in use: Platform's own suggestion, supplied by the platform — not independent",
      );
      expect(await page.textContent("#policy-facts")).to.include(
        `supplied by the platform — not independent (${baseUrl}/v1/config)`,
      );
      // A file of the user's own replaces it; a malformed one is refused and changes nothing.
      const bad = path.join(tmp, "bad-policy.json");
      await writeFile(bad, JSON.stringify({ ...policy, witnesses: { quorum: 3, vkeys: [] } }));
      await page.setInputFiles("#policy-file", bad);
      await page.waitForSelector("#policy-error:not([hidden])");
      expect(await page.textContent("#policy-error")).to.include("trust policy quorum exceeds its witnesses");
      expect(await page.getAttribute("#policy-panel", "data-source")).to.equal("platform");
      const good = path.join(tmp, "bank-policy.json");
      await writeFile(good, JSON.stringify(policy));
      await page.setInputFiles("#policy-file", good);
      await page.waitForSelector('#policy-panel[data-source="file"]');
      expect(await page.textContent("#policy-facts")).to.include("loaded from the file bank-policy.json");
    } finally {
      await page.close();
    }
  });

  it("opened as a local file, verifies with only an RPC endpoint and the policy, asking the platform nothing", async () => {
    // Only the one file, copied away from the build directory.
    const away = path.join(tmp, "downloads");
    await mkdir(away, { recursive: true });
    const file = path.join(away, STANDALONE_PAGE);
    await copyFile(path.join(dist, STANDALONE_PAGE), file);
    const policyFile = path.join(away, "policy.json");
    await writeFile(policyFile, JSON.stringify(policy));
    const before = platformRequests.length;
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    try {
      await page.goto(`file://${file}`);
      await page.waitForSelector("body[data-ready=true]");
      expect(await page.textContent("#config-status")).to.match(/^Opened as a local file/);
      await page.fill("#rpc-url", fx.rpcUrl);
      await page.setInputFiles("#policy-file", policyFile);
      await page.waitForSelector('#policy-panel[data-source="file"]');
      await page.fill(
        "#receipt-input",
        JSON.stringify(receiptV2(5, fx.headsA[1], [logSigner, ...cosigners])),
      );
      const v = await verdictOf(page);
      expect(v.state, v.reason).to.equal("valid");
      expect(platformRequests.length, "requests reaching the platform's server").to.equal(before);
      const elsewhere = requested.filter((u) => !u.startsWith("file://") && !u.startsWith(fx.rpcUrl));
      expect(elsewhere).to.deep.equal([]);
      expect(requested.some((u) => u.startsWith(fx.rpcUrl))).to.equal(true);
    } finally {
      await page.close();
    }
  });

  it("the balance-proof tab passes a valid proof and fails a forged balance at the leaf hash", async () => {
    const page = await openPage();
    try {
      await loadPolicyFromUrl(page);
      await page.click("#tab-balance");
      expect(await page.isVisible("#balance-tab")).to.equal(true);
      expect(await page.isVisible("#receipt-tab")).to.equal(false);
      await page.fill("#balance-input", JSON.stringify(proof, null, 2));
      const v = await verdictOf(page, "balance-verdict", "#balance-btn");
      expect(v.state, v.reason).to.equal("valid");
      const checks = await page.$$eval("#balance-verdict-checks li", (lis) =>
        lis.map((li) => `${li.getAttribute("data-check")}:${li.getAttribute("data-ok")}`),
      );
      expect(checks).to.deep.equal(
        [
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
        ].map((n) => `${n}:true`),
      );
      expect(v.text).to.include("1000 EUR (minor units)");

      const forged = { ...proof, leaf: { ...proof.leaf, balance: "100000" } };
      await page.fill("#balance-input", JSON.stringify(forged));
      const bad = await verdictOf(page, "balance-verdict", "#balance-btn");
      expect(bad.state).to.equal("invalid");
      expect(bad.failed[0]).to.equal("leafHash");
      expect(bad.title).to.equal("Invalid balance proof");

      // A policy pinning another reserves contract refuses the proof's contract.
      const other = path.join(tmp, "other-reserves-policy.json");
      await writeFile(other, JSON.stringify({ ...policy, reservesContract: fx.anchorB }));
      await page.setInputFiles("#policy-file", other);
      await page.waitForSelector('#policy-panel[data-source="file"]');
      await page.fill("#balance-input", JSON.stringify(proof));
      const pinned = await verdictOf(page, "balance-verdict", "#balance-btn");
      expect(pinned.state).to.equal("invalid");
      expect(pinned.failed[0]).to.equal("chainId");
      expect(pinned.reason.toLowerCase()).to.include(`the verifier trusts ${fx.anchorB}`);
    } finally {
      await page.close();
    }
  });
});
