import { silentLogger } from "../../src/logging";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser";
import { resolveConfig } from "../../src/stack/config";
import { startDemo } from "../../src/stack/demo";
import { startStack, type RunningStack } from "../../src/stack/stack";

/**
 * The whole system as a customer meets it: the stack of `npm start` (local chain, contracts, ledger,
 * relayer, API) serves the receipt page; Debian's Chromium loads it, and the page checks receipts the
 * stack issued against the chain's RPC itself.
 */
const quiet = () => {};

describe("stack: the receipt page in Chromium checks receipts the stack issued", function () {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-stack-web-"));
  let s: RunningStack;
  let browser: Browser;
  let receipt: any;

  before(async () => {
    s = await startStack(
      resolveConfig({ dataDir, apiPort: 0, chainPort: 0, blockTime: 0, anchorIntervalMs: 200 }, {}),
      { logger: silentLogger },
    );
    const demo = startDemo(s, { tickMs: 20, say: quiet });
    for (let i = 0; i < 400 && (await s.ledger.eventCount()) < 20; i++) await sleep(100);
    await demo.stop();
    const count = await s.ledger.eventCount();
    for (let i = 0; i < 400; i++) {
      const a = await s.relayer.anchors.latest();
      if (a && a.treeSize >= count) break;
      await sleep(100);
    }
    // The relayer collects the witnesses' cosignatures after each anchor: wait until the v2
    // receipt's checkpoint carries both of the embedded stack's witnesses.
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`${s.apiUrl}/v1/receipts/${count - 2}`, {
        headers: { authorization: `Bearer ${s.apiKeys.platform}` },
      });
      expect(res.status).to.equal(200);
      receipt = await res.json();
      if ((receipt.checkpoint?.match(/^\u2014 localhost\/custody\/witness\//gm) ?? []).length === 2) break;
      await sleep(100);
    }
    expect(receipt.format).to.equal("custody-receipt-v2");
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await page.goto(s.webUrl);
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  async function verdict(page: Page) {
    await page.click("#verify-btn");
    await page.waitForFunction(() =>
      ["valid", "invalid", "error"].includes(document.getElementById("verdict")!.dataset.state ?? ""),
    );
    return page.evaluate(() => ({
      state: document.getElementById("verdict")!.dataset.state!,
      reason: document.getElementById("verdict-reason")!.textContent!,
      text: document.getElementById("verdict")!.textContent!,
    }));
  }

  it("takes the chain settings from the stack and lists its anchors", async () => {
    const page = await openPage();
    try {
      expect(await page.inputValue("#rpc-url")).to.equal(s.rpcUrl);
      expect((await page.inputValue("#contract")).toLowerCase()).to.equal(
        s.deployment.custodyAnchor.toLowerCase(),
      );
      // The table's placeholder row is there before the first refresh: wait for the refresh itself.
      await page.waitForSelector("#explorer-status[data-refreshes]");
      expect(await page.locator("#anchors-body tr").count()).to.be.greaterThan(0);
      expect(await page.textContent("#anchors-body")).not.to.include("Loading");
      expect(await page.textContent("#alarms")).to.equal("none");
    } finally {
      await page.close();
    }
  });

  it("shows the stack's receipt as valid, and the same receipt altered as invalid with the reason", async () => {
    const page = await openPage();
    try {
      await page.fill("#receipt-input", JSON.stringify(receipt, null, 2));
      const ok = await verdict(page);
      expect(ok.state, ok.reason).to.equal("valid");
      expect(ok.text).to.include(`#${receipt.anchor.headIndex} · tree size ${receipt.anchor.treeSize}`);

      const forged = structuredClone(receipt);
      forged.entry.amount = (BigInt(forged.entry.amount) + 1n).toString();
      await page.fill("#receipt-input", JSON.stringify(forged, null, 2));
      const bad = await verdict(page);
      expect(bad.state).to.equal("invalid");
      expect(bad.reason).to.match(/the entry was altered/);
    } finally {
      await page.close();
    }
  });

  it("verifies the stack's v2 receipt under the trust policy, also from the downloaded one-file page", async () => {
    // The page the service offers for download, opened from disk with the policy file the user got
    // out of band (here the stack's own, data-dir/trust-policy.json).
    const html = await (await fetch(new URL("receipt-checker.html", s.webUrl))).text();
    const file = path.join(dataDir, "receipt-checker.html");
    fs.writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    try {
      await page.goto(`file://${file}`);
      await page.waitForSelector("body[data-ready=true]");
      await page.fill("#rpc-url", s.rpcUrl);
      await page.setInputFiles("#policy-file", path.join(dataDir, "trust-policy.json"));
      await page.waitForSelector('#policy-panel[data-source="file"]');
      await page.fill("#receipt-input", JSON.stringify(receipt, null, 2));
      const v = await verdict(page);
      expect(v.state, v.reason).to.equal("valid");
      // Both of the stack's witnesses cosigned (in the order their lines are stored).
      expect(v.text).to.match(
        /Witnesseslocalhost\/custody\/witness\/(bank, localhost\/custody\/witness\/auditor|auditor, localhost\/custody\/witness\/bank)/,
      );
      expect(requested.filter((u) => !u.startsWith("file://") && !u.startsWith(s.rpcUrl))).to.deep.equal([]);
    } finally {
      await page.close();
    }
  });

  it("offers the policy /v1/config suggests only as supplied by the platform", async () => {
    const page = await openPage();
    try {
      await page.click("#policy-suggested-btn");
      await page.waitForSelector('#policy-panel[data-source="platform"]');
      expect(await page.textContent("#policy-badge")).to.match(/supplied by the platform — not independent$/);
      await page.fill("#receipt-input", JSON.stringify(receipt, null, 2));
      const v = await verdict(page);
      expect(v.state, v.reason).to.equal("valid");
    } finally {
      await page.close();
    }
  });

  it("checks a leaf hash alone through the stack's API and the chain", async () => {
    const page = await openPage();
    try {
      await page.fill("#leafhash-input", receipt.leafHash);
      const v = await verdict(page);
      expect(v.state, v.reason).to.equal("valid");
    } finally {
      await page.close();
    }
  });
});

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
