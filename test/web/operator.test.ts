import { expect } from "chai";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser";
import { buildWeb } from "../../web/build";
import { OPERATOR_PAGE_CSP } from "../../src/api/app";
import { startRiskApi } from "../risk/api-stack";

/**
 * The operator console in a real browser (Debian's Chromium) against the real API over a SQLite
 * ledger with the risk module: alerts from a real transfer, proposals from a real operator key,
 * decisions by the page through the API's own routes.
 */

describe("web: operator console in Chromium (real API, SQLite)", function () {
  let s: Awaited<ReturnType<typeof startRiskApi>>;
  let tmp: string;
  let browser: Browser;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "custody-operator-"));
    s = await startRiskApi(await buildWeb(path.join(tmp, "dist")));
    browser = await launchChromium();
    // A large-value cash deposit (¥50 000.00 ≥ the PBOC cash threshold) raises one alert.
    const d = await s.call("POST", "/v1/transfers", s.keys.platform, {
      id: "cash-1",
      debitAccountId: "cash-desk",
      creditAccountId: "alice",
      amount: "5000000",
      kind: "deposit",
    });
    expect(d.status).to.equal(201);
    await s.engine.drain();
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors, "script errors on the page").to.deep.equal([]);
    expect(cspViolations, "CSP violations by the page's own code").to.deep.equal([]);
  });

  async function open(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${s.server.url}/operator/`);
    await page.waitForSelector("body[data-ready=true]");
    return page;
  }

  /** Runs `step` and waits until the page has reloaded its data after it. */
  async function andReload(page: Page, step: () => Promise<unknown>): Promise<void> {
    const before = Number((await page.getAttribute("body", "data-loaded")) ?? "0");
    await step();
    await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? "0") > n, before);
  }

  async function useKey(page: Page, key: string): Promise<void> {
    await page.fill("#api-key", key);
    await andReload(page, () => page.click("#key-use"));
  }

  async function notice(page: Page): Promise<{ kind: string; text: string }> {
    return page.evaluate(() => {
      const n = document.getElementById("notice")!;
      return { kind: n.hidden ? "hidden" : n.dataset.kind!, text: n.textContent! };
    });
  }

  const alertRow = (rule: string) => `#alerts-body tr[data-rule="${rule}"]`;

  it("keeps the API key in this tab's sessionStorage only, never in localStorage or the URL", async () => {
    const page = await open();
    try {
      await useKey(page, s.keys.auditor);
      const stored = await page.evaluate(() => ({
        session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
        local: localStorage.length,
        cookies: document.cookie,
      }));
      expect(stored).to.deep.equal({ session: [s.keys.auditor], local: 0, cookies: "" });
      expect(page.url()).to.equal(`${s.server.url}/operator/`);
      expect(await page.inputValue("#api-key")).to.equal("");
      // A reload in the same tab keeps working with the stored key.
      await page.reload();
      await page.waitForSelector(alertRow("pboc.lv.cash"));
      await page.click("#key-forget");
      expect(await page.evaluate(() => sessionStorage.length)).to.equal(0);
      expect(await page.textContent("#alerts-body")).to.equal("Enter a key to load.");
      // A wrong key: the service's refusal is shown as given.
      await useKey(page, "ck_not-a-key");
      const n = await notice(page);
      expect(n.kind).to.equal("error");
      expect(n.text).to.match(/^UNAUTHENTICATED /);
    } finally {
      await page.close();
    }
  });

  it("lists the alert raised by a large-value transfer and draws it in the chart", async () => {
    const page = await open();
    try {
      await useKey(page, s.keys.checker);
      const row = page.locator(alertRow("pboc.lv.cash"));
      expect(await row.count()).to.equal(1);
      expect(await row.getAttribute("data-state")).to.equal("open");
      const cells = await row.locator("td").allTextContents();
      expect(cells[2]).to.equal("alice");
      expect(cells[4]).to.equal("open");
      const bar = page.locator('#chart svg rect[data-rule="pboc.lv.cash"]');
      expect(await bar.count()).to.equal(1);
      expect(await bar.getAttribute("data-count")).to.equal("1");
      // The bar sits in today's bucket (UTC days on the default 7-day view).
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      expect(Number(await bar.getAttribute("data-bucket"))).to.equal(today);
      expect(Number(await bar.getAttribute("height"))).to.be.greaterThan(0);
      expect(await page.textContent('#chart-legend li[data-rule="pboc.lv.cash"]')).to.equal("pboc.lv.cash 1");
      // Filters go to the service: another account or another rule lists nothing.
      await page.fill("#f-account", "bob");
      await page.click("#f-apply");
      await page.waitForSelector(`${alertRow("pboc.lv.cash")}`, { state: "detached" });
      await page.fill("#f-account", "alice");
      await page.fill("#f-rule", "velocity.debits");
      await page.click("#f-apply");
      await page.waitForFunction(() =>
        document.getElementById("alerts-body")!.textContent!.startsWith("No alerts"),
      );
      await page.fill("#f-rule", "pboc.lv.cash");
      await page.fill("#f-from", new Date(Date.now() + 3_600_000).toISOString().slice(0, 16));
      await page.click("#f-apply");
      await page.waitForFunction(() =>
        document.getElementById("alerts-body")!.textContent!.startsWith("No alerts"),
      );
      await page.fill("#f-from", new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
      await page.click("#f-apply");
      await page.waitForSelector(alertRow("pboc.lv.cash"));
      // The hourly view shows it too.
      await page.selectOption("#chart-range", "day");
      await page.waitForFunction(
        (hour) =>
          document.querySelector('#chart svg rect[data-rule="pboc.lv.cash"]')?.getAttribute("data-bucket") ===
          String(hour),
        Math.floor(Date.now() / 3_600_000) * 3_600_000,
      );
    } finally {
      await page.close();
    }
  });

  it("reviews an alert; dismissing it without a reason is refused with the service's error", async () => {
    const page = await open();
    try {
      await useKey(page, s.keys.operator);
      const row = page.locator(alertRow("pboc.lv.cash"));
      await andReload(page, () => row.locator('button[data-action="under_review"]').click());
      expect(await row.getAttribute("data-state")).to.equal("under_review");
      expect((await notice(page)).text).to.match(/is now under review\.$/);

      await andReload(page, () => row.locator('button[data-action="dismissed"]').click());
      const refused = await notice(page);
      expect(refused.kind).to.equal("error");
      expect(refused.text).to.match(/^REASON_REQUIRED /);
      const [a] = (await s.call("GET", "/v1/alerts?rule=pboc.lv.cash", s.keys.auditor)).body.alerts;
      expect(a.state).to.equal("under_review");

      await row.locator("input.reason").fill("  known payroll float, documented  ");
      await andReload(page, () => row.locator('button[data-action="dismissed"]').click());
      expect(await notice(page)).to.deep.equal({
        kind: "ok",
        text: `Alert ${a.id} (pboc.lv.cash, alice) is now dismissed.`,
      });
      // Disposed alerts leave the default (open or under review) list.
      expect(await row.count()).to.equal(0);
      const full = (await s.call("GET", `/v1/alerts/${a.id}`, s.keys.auditor)).body;
      expect(full.transitions.map((t: any) => [t.to, t.reason ?? null])).to.deep.equal([
        ["under_review", null],
        ["dismissed", "known payroll float, documented"],
      ]);
      await page.selectOption("#f-state", "dismissed");
      await page.click("#f-apply");
      await page.waitForSelector(`${alertRow("pboc.lv.cash")}[data-state="dismissed"]`);
    } finally {
      await page.close();
    }
  });

  it("a checker approves an unfreeze proposed by an operator; the maker's own key is refused", async () => {
    expect((await s.call("POST", "/v1/accounts/alice/freeze", s.keys.platform)).status).to.equal(200);
    const proposed = await s.call("POST", "/v1/approvals", s.keys.operator, {
      operation: "unfreeze_account",
      params: { accountId: "alice" },
    });
    expect(proposed.status).to.equal(201);
    const id: string = proposed.body.id;
    const row = `#approvals-body tr[data-approval-id="${id}"]`;
    const page = await open();
    try {
      // The maker's key tries to approve its own proposal.
      await useKey(page, s.keys.operator);
      expect(await page.textContent(`${row} td:nth-child(2)`)).to.match(/^[\w-]/);
      await andReload(page, () => page.click(`${row} button[data-action="approve"]`));
      const refused = await notice(page);
      expect(refused.kind).to.equal("error");
      expect(refused.text).to.match(/^FORBIDDEN /);
      expect((await s.call("GET", `/v1/approvals/${id}`, s.keys.auditor)).body.state).to.equal("pending");

      // A checker: rejecting needs a reason, approving executes it.
      await page.click("#key-forget");
      await useKey(page, s.keys.checker);
      await andReload(page, () => page.click(`${row} button[data-action="reject"]`));
      const noReason = await notice(page);
      expect(noReason.kind).to.equal("error");
      expect(noReason.text).to.equal("REASON_REQUIRED rejecting a proposal needs a written reason");
      expect((await s.call("GET", `/v1/approvals/${id}`, s.keys.auditor)).body.state).to.equal("pending");

      await andReload(page, () => page.click(`${row} button[data-action="approve"]`));
      expect(await notice(page)).to.deep.equal({
        kind: "ok",
        text: `unfreeze account ${id} is executed: accountId=alice, status=active.`,
      });
      expect(await page.locator(row).count()).to.equal(0);
      expect(await page.getAttribute(`#decided-body tr[data-approval-id="${id}"]`, "data-state")).to.equal(
        "executed",
      );
      const account = await s.call("GET", "/v1/accounts/alice", s.keys.platform);
      expect(account.body.status).to.equal("active");
    } finally {
      await page.close();
    }
  });

  it("rejects a proposal with the written reason, shown as text", async () => {
    const REASON = `no matching customer instruction <img src=x onerror="window.__xss=1">`;
    const proposed = await s.call("POST", "/v1/approvals", s.keys.operator2, {
      operation: "withdrawal",
      params: { debitAccountId: "alice", creditAccountId: "swift", amount: "4000000" },
    });
    const id: string = proposed.body.id;
    const page = await open();
    try {
      await useKey(page, s.keys.checker2);
      const row = `#approvals-body tr[data-approval-id="${id}"]`;
      expect(await page.locator(`${row} .params span`).allTextContents()).to.deep.equal([
        "debitAccountId=alice",
        "creditAccountId=swift",
        "amount=4000000",
      ]);
      // A reason is free text from a person: it must come back as text, never as markup.
      await page.fill(`${row} input.reason`, REASON);
      await andReload(page, () => page.click(`${row} button[data-action="reject"]`));
      expect((await notice(page)).text).to.equal(`withdrawal ${id} is rejected.`);
      const decided = page.locator(`#decided-body tr[data-approval-id="${id}"] td`);
      expect((await decided.allTextContents()).slice(0, 2)).to.deep.equal(["withdrawal", "rejected"]);
      expect(await decided.last().textContent()).to.equal(REASON);
      expect(await page.locator("#decided-body img").count()).to.equal(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).to.equal(undefined);
      expect((await s.env.ledger.getBalance("alice")).posted).to.equal(5_000_000n);
    } finally {
      await page.close();
    }
  });

  it("runs under a strict CSP and writes server text only as text", async () => {
    const page = await open();
    try {
      const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
      expect(csp).to.equal(OPERATOR_PAGE_CSP);
      // The API sends it as a header too, with no framing (the page's buttons decide operations).
      const res = await fetch(`${s.server.url}/operator/`);
      expect(res.headers.get("content-security-policy")).to.equal(`${csp}; frame-ancestors 'none'`);
      expect(res.headers.get("x-frame-options")).to.equal("DENY");
      // An injected inline script does not run.
      const ran = await page.evaluate(() => {
        const sc = document.createElement("script");
        sc.textContent = "window.__injected = true";
        document.body.append(sc);
        return (window as unknown as { __injected?: boolean }).__injected === true;
      });
      expect(ran).to.equal(false);
      cspViolations.length = 0;
      const dir = path.join(__dirname, "../../web/operator");
      for (const f of (await readdir(dir)).filter((n) => n.endsWith(".ts")))
        expect(await readFile(path.join(dir, f), "utf8"), f).to.not.match(
          /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
        );
    } finally {
      await page.close();
    }
  });

  it("renders cleanly (screenshot for review)", async () => {
    await s.call("POST", "/v1/approvals", s.keys.operator, {
      operation: "withdrawal",
      params: { debitAccountId: "alice", creditAccountId: "swift", amount: "4500000" },
    });
    await s.call("POST", "/v1/transfers", s.keys.platform, {
      id: "cash-2",
      debitAccountId: "cash-desk",
      creditAccountId: "bob",
      amount: "7000000",
      kind: "deposit",
    });
    await s.engine.drain();
    const page = await open();
    try {
      await useKey(page, s.keys.checker);
      await page.waitForSelector(alertRow("pboc.lv.cash"));
      await page.screenshot({ path: path.join(os.tmpdir(), "custody-operator.png"), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      expect(overflow, "no horizontal overflow").to.equal(false);
      await page.setViewportSize({ width: 420, height: 900 });
      await page.screenshot({ path: path.join(os.tmpdir(), "custody-operator-narrow.png"), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
