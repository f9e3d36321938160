import { expect } from "chai";
import express from "express";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser";
import { buildWeb } from "../../web/build";
import { webRouter } from "../../web/serve";
import type { ReceiptJson } from "../../src/verify";
import { startChainFixture, type ChainFixture } from "../verify/support/chain";

/**
 * The receipt checker in a real browser (Debian's Chromium) against a real anvil: the page is served
 * by a small express app of this test with the /v1 routes the page reads.
 */

describe("web: receipt checker in Chromium", function () {
  let fx: ChainFixture;
  let tmp: string;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;
  const proofs = new Map<string, unknown>();

  before(async () => {
    fx = await startChainFixture();
    tmp = await mkdtemp(path.join(os.tmpdir(), "custody-web-"));
    const dist = await buildWeb(path.join(tmp, "dist"));

    for (let i = 0; i < fx.tree.entries.length; i++) {
      const { leafIndex, leafHash, anchor, inclusionProof } = fx.receipt(i, fx.headsA[1]);
      proofs.set(leafHash, { leafIndex, leafHash, anchor, inclusionProof });
    }
    const anchorsJson = [fx.headsA[1], fx.headsA[0]].map((a) => ({
      headIndex: a.headIndex,
      treeSize: a.treeSize,
      rootHash: a.rootHash,
      metadataHash: `0x${"00".repeat(32)}`,
      txHash: a.txHash,
      blockNumber: a.blockNumber,
      blockTimestamp: a.timestamp,
      chainId: a.chainId,
      contract: a.contract,
      final: true,
    }));
    const app = express();
    app.get("/v1/config", (_req, res) => {
      res.json({ chainId: fx.chainId, rpcUrl: fx.rpcUrl, custodyAnchor: fx.anchorA });
    });
    app.get("/v1/proofs/by-leaf-hash/:leafHash", (req, res) => {
      const p = proofs.get(req.params.leafHash.toLowerCase());
      if (p) res.json(p);
      else res.status(404).json({ error: { code: "NOT_FOUND", message: "no entry has this hash" } });
    });
    app.get("/v1/log/head", (_req, res) => {
      res.json({ treeSize: 13, rootHash: fx.headsA[1].rootHash, latestAnchor: anchorsJson[0] });
    });
    app.get("/v1/log/anchors", (_req, res) => {
      res.json({ anchors: anchorsJson });
    });
    app.get("/v1/health", (_req, res) => {
      res.json({ status: "ok" });
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

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await page.goto(baseUrl + "/");
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  async function verdictOf(
    page: Page,
  ): Promise<{ state: string; title: string; reason: string; text: string }> {
    await page.click("#verify-btn");
    await page.waitForFunction(() =>
      ["valid", "invalid", "error"].includes(document.getElementById("verdict")!.dataset.state ?? ""),
    );
    return page.evaluate(() => ({
      state: document.getElementById("verdict")!.dataset.state!,
      title: document.getElementById("verdict-title")!.textContent!,
      reason: document.getElementById("verdict-reason")!.textContent!,
      text: document.getElementById("verdict")!.textContent!,
    }));
  }

  async function checkReceipt(receipt: ReceiptJson): Promise<Awaited<ReturnType<typeof verdictOf>>> {
    const page = await openPage();
    try {
      await page.fill("#receipt-input", JSON.stringify(receipt, null, 2));
      return await verdictOf(page);
    } finally {
      await page.close();
    }
  }

  it("fills the chain settings from /v1/config and shows the log status", async () => {
    const page = await openPage();
    try {
      expect(await page.inputValue("#rpc-url")).to.equal(fx.rpcUrl);
      expect(await page.inputValue("#contract")).to.equal(fx.anchorA);
      expect(await page.inputValue("#chain-id")).to.equal(String(fx.chainId));
      await page.waitForFunction(() => document.querySelectorAll("#anchors-body tr").length === 2);
      expect(await page.textContent("#log-size")).to.equal("13 entries");
      expect(await page.textContent("#anchor-lag")).to.equal("2 entries");
      expect(await page.textContent("#alarms")).to.equal("none");
    } finally {
      await page.close();
    }
  });

  it("shows a valid receipt as valid, with head, block and time", async () => {
    const anchor = fx.headsA[1];
    const v = await checkReceipt(fx.receipt(7, anchor));
    expect(v.state, v.reason).to.equal("valid");
    expect(v.title).to.match(/^Valid receipt/);
    expect(v.text).to.include(`#${anchor.headIndex} · tree size ${anchor.treeSize}`);
    expect(v.text).to.include(
      `${anchor.blockNumber} · ${new Date(anchor.timestamp * 1000).toISOString().slice(0, 10)}`,
    );
    expect(v.text).to.include("10875 EUR (minor units)");
  });

  it("accepts a receipt given as a file", async () => {
    const file = path.join(tmp, "receipt.json");
    await writeFile(file, JSON.stringify(fx.receipt(2, fx.headsA[0])));
    const page = await openPage();
    try {
      await page.setInputFiles("#receipt-file", file);
      await page.waitForFunction(
        () => (document.getElementById("receipt-input") as HTMLTextAreaElement).value !== "",
      );
      const v = await verdictOf(page);
      expect(v.state, v.reason).to.equal("valid");
      expect(await page.textContent("#file-name")).to.equal("receipt.json");
    } finally {
      await page.close();
    }
  });

  it("shows a tampered receipt as invalid with its reason", async () => {
    const r = fx.receipt(7, fx.headsA[1]);
    r.entry.amount = "1000000";
    const v = await checkReceipt(r);
    expect(v.state).to.equal("invalid");
    expect(v.reason).to.match(
      /^Reason: the entry hashes to 0x[0-9a-f]{64}, but the receipt says .*: the entry was altered$/,
    );
    const failed = await (async () => {
      const page = await openPage();
      try {
        await page.fill("#receipt-input", JSON.stringify(r));
        await verdictOf(page);
        return await page.$$eval('#verdict-checks li[data-ok="false"]', (lis) =>
          lis.map((li) => li.getAttribute("data-check")),
        );
      } finally {
        await page.close();
      }
    })();
    expect(failed[0]).to.equal("leafHash");
  });

  it("rejects a receipt from another contract", async () => {
    const v = await checkReceipt(fx.receipt(3, fx.headB));
    expect(v.state).to.equal("invalid");
    expect(v.reason).to.include(
      `anchored by contract ${fx.anchorB}, not by the expected contract ${fx.anchorA}`,
    );
  });

  it("rejects a malformed receipt, naming the field", async () => {
    const r = fx.receipt(3, fx.headsA[1]) as unknown as Record<string, unknown>;
    r.extra = "x";
    const v = await checkReceipt(r as unknown as ReceiptJson);
    expect(v.state).to.equal("invalid");
    expect(v.reason).to.include("receipt field extra");
  });

  it("verifies a receipt hash by fetching its proof and checking it on chain", async () => {
    const page = await openPage();
    try {
      await page.fill(
        "#leafhash-input",
        fx.receipt(5, fx.headsA[1]).leafHash.toUpperCase().replace("0X", "0x"),
      );
      const v = await verdictOf(page);
      expect(v.state, v.reason).to.equal("valid");
      expect(v.title).to.match(/^Valid: this hash/);
      await page.fill("#leafhash-input", `0x${"ab".repeat(32)}`);
      const missing = await verdictOf(page);
      expect(missing.state).to.equal("invalid");
      expect(missing.reason).to.include("no anchored leaf with hash");
    } finally {
      await page.close();
    }
  });

  it("renders cleanly (screenshot for review)", async () => {
    const page = await openPage();
    try {
      await page.fill("#receipt-input", JSON.stringify(fx.receipt(7, fx.headsA[1]), null, 2));
      const v = await verdictOf(page);
      expect(v.state).to.equal("valid");
      const shot = path.join(os.tmpdir(), "custody-receipt-checker.png");
      await page.screenshot({ path: shot, fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      expect(overflow, "no horizontal overflow").to.equal(false);

      const forged = fx.receipt(7, fx.headsA[1]);
      forged.anchor.headIndex = 0;
      await page.fill("#receipt-input", JSON.stringify(forged, null, 2));
      expect((await verdictOf(page)).state).to.equal("invalid");
      await page.screenshot({
        path: path.join(os.tmpdir(), "custody-receipt-checker-invalid.png"),
        fullPage: true,
      });
    } finally {
      await page.close();
    }
  });
});
