import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { EXIT_USAGE, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { alertIdOf } from "../../src/risk/documents";
import { RiskEngine } from "../../src/risk/engine";
import { DEFAULT_RULE_FILE, RULE_FILE_FORMAT } from "../../src/risk/rules-file";
import { migrate } from "../../src/db/migrate";
import { ensurePseudonymKey, pseudonymKeyMigrations } from "../../src/ledger/pseudonym-key";
import { KEY, openRiskLedger } from "./fixture";

const KEY_HEX = Buffer.from(KEY).toString("hex");

/** Midnight of 2026-03-02 in Beijing (the default rule file's time zone, UTC+8). */
const DAY0 = Date.parse("2026-03-02T00:00:00+08:00");
const HOUR = 3_600_000;
const INSTITUTION = 'Example Bank "Shanghai", Pudong';

describe("custody report large-value: the daily large-value transaction report (CSV and JSON)", function () {
  this.timeout(60_000);
  let env: Awaited<ReturnType<typeof openRiskLedger>>;
  let now = DAY0;
  const seq: Record<string, number> = {};
  let alice: string;
  let hans: string;

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  before(async () => {
    env = await openRiskLedger(undefined, () => now);
    const { db, ledger } = env;
    // As the stack does: the key's fingerprint is recorded, and the report reads with the same key.
    await migrate(db, pseudonymKeyMigrations);
    await ensurePseudonymKey(db, KEY);
    process.env.CUSTODY_PSEUDONYM_KEY = KEY_HEX;
    const open = (
      id: string,
      type: "customer" | "settlement",
      asset: string,
      scale: number,
      metadata?: object,
    ) => ledger.openAccount({ id, type, asset, scale, ...(metadata ? { metadata: metadata as never } : {}) });
    await open("cash-desk", "settlement", "CNY", 2, { channel: "cash" });
    await open("eur-cash", "settlement", "EUR", 2, { channel: "cash" });
    await open("jpy-cash", "settlement", "JPY", 0, { channel: "cash" });
    await open("alice", "customer", "CNY", 2);
    await open("hans", "customer", "EUR", 2);
    await open("taro", "customer", "JPY", 0);
    const move = async (
      id: string,
      from: string,
      to: string,
      amount: bigint,
      at: number,
      kind = "deposit",
    ) => {
      now = at;
      const t = await ledger.transfer({
        id,
        debitAccountId: from,
        creditAccountId: to,
        amount,
        kind: kind as never,
      });
      seq[id] = t.sequence;
    };
    // The evening before (Beijing): its own day, never in this report.
    await move("c0", "cash-desk", "alice", 6_000_000n, DAY0 - HOUR / 2);
    await move("c1", "cash-desk", "alice", 3_000_000n, DAY0 + 9 * HOUR);
    await move("c2", "cash-desk", "alice", 2_500_000n, DAY0 + 10 * HOUR); // 55 000.00 ≥ 50 000: alert
    await move("c3", "cash-desk", "alice", 100_000n, DAY0 + 11 * HOUR); // after the alert: still reported
    await move("w1", "alice", "cash-desk", 5_100_000n, DAY0 + 13 * HOUR, "withdrawal");
    await move("e1", "eur-cash", "hans", 710_000n, DAY0 + 14 * HOUR); // 7 100.00 EUR × 7.1234 = 50 576.14 CNY
    await move("j1", "jpy-cash", "taro", 2_000_000n, DAY0 + 15 * HOUR); // no JPY rate: not evaluated
    const rules = JSON.stringify({
      ...DEFAULT_RULE_FILE,
      format: RULE_FILE_FORMAT,
      rates: { CNY: "1", EUR: "7.1234" },
      rules: DEFAULT_RULE_FILE.rules.filter((r) => r.type === "large_value"),
    });
    const engine = await RiskEngine.open(db, ledger, ledger, { rules });
    await engine.drain();
    alice = (await ledger.getAccount("alice")).pseudonym;
    hans = (await ledger.getAccount("hans")).pseudonym;
  });
  after(async () => {
    delete process.env.CUSTODY_PSEUDONYM_KEY;
    await env?.close();
    if (env) fs.rmSync(env.dir, { recursive: true, force: true });
  });

  const common = () => ["--db", env.url, "--date", "2026-03-02", "--institution", INSTITUTION];
  const id = (rule: string, subject: string, dir: string, asset: string) =>
    alertIdOf(rule, subject, `2026-03-02/${dir}/${asset}`);

  it("CSV: one RFC 4180 line per transaction, quoted where needed, exact decimals", async () => {
    const r = await cli(
      "report",
      "large-value",
      ...common(),
      "--format",
      "csv",
      "--out",
      path.join(env.dir, "lv.csv"),
    );
    expect(r.code, r.err).to.equal(EXIT_VALID);
    const csv = fs.readFileSync(path.join(env.dir, "lv.csv"), "utf8");
    const inst = '"Example Bank ""Shanghai"", Pudong"';
    const aIn = id("pboc.lv.cash", "alice", "in", "CNY");
    const aOut = id("pboc.lv.cash", "alice", "out", "CNY");
    const hIn = id("pboc.lv.cash", "hans", "in", "EUR");
    expect(csv).to.equal(
      [
        "report_date,institution,alert_id,rule_id,threshold,reporting_currency,account_id,customer_pseudonym,customer_type," +
          "direction,asset,day_total_minor,day_total_major,rate,day_total_equivalent,transfer_id,sequence,time," +
          "amount_minor,amount_major,amount_equivalent,counterparty_account_id,counterparty_type,counterparty_channel",
        `2026-03-02,${inst},${aIn},pboc.lv.cash,50000,CNY,alice,${alice},individual,in,CNY,5600000,56000.00,1,56000.00,c1,${seq.c1},2026-03-02T01:00:00.000Z,3000000,30000.00,30000.00,cash-desk,settlement,cash`,
        `2026-03-02,${inst},${aIn},pboc.lv.cash,50000,CNY,alice,${alice},individual,in,CNY,5600000,56000.00,1,56000.00,c2,${seq.c2},2026-03-02T02:00:00.000Z,2500000,25000.00,25000.00,cash-desk,settlement,cash`,
        `2026-03-02,${inst},${aIn},pboc.lv.cash,50000,CNY,alice,${alice},individual,in,CNY,5600000,56000.00,1,56000.00,c3,${seq.c3},2026-03-02T03:00:00.000Z,100000,1000.00,1000.00,cash-desk,settlement,cash`,
        `2026-03-02,${inst},${aOut},pboc.lv.cash,50000,CNY,alice,${alice},individual,out,CNY,5100000,51000.00,1,51000.00,w1,${seq.w1},2026-03-02T05:00:00.000Z,5100000,51000.00,51000.00,cash-desk,settlement,cash`,
        `2026-03-02,${inst},${hIn},pboc.lv.cash,50000,CNY,hans,${hans},individual,in,EUR,710000,7100.00,7.1234,50576.14,e1,${seq.e1},2026-03-02T06:00:00.000Z,710000,7100.00,50576.14,eur-cash,settlement,cash`,
        "",
      ].join("\r\n"),
    );
  });

  it("JSON: the same entries grouped per alert, and the customer-days no rate could convert", async () => {
    const r = await cli("report", "large-value", ...common(), "--format", "json");
    expect(r.code, r.err).to.equal(EXIT_VALID);
    const tx = (
      transferId: string,
      hour: number,
      amountMinor: string,
      amountMajor: string,
      equivalent: string,
      counterparty: string,
    ) => ({
      transferId,
      sequence: seq[transferId],
      time: new Date(DAY0 + hour * HOUR).toISOString(),
      amountMinor,
      amountMajor,
      equivalent,
      counterparty: { accountId: counterparty, type: "settlement", channel: "cash" },
    });
    const entry = (
      who: string,
      pseudonym: string,
      direction: string,
      asset: string,
      total: string[],
      rate: string,
    ) => ({
      alertId: id("pboc.lv.cash", who, direction, asset),
      ruleId: "pboc.lv.cash",
      threshold: "50000",
      rulesRevision: 1,
      accountId: who,
      customerPseudonym: pseudonym,
      customerType: "individual",
      direction,
      asset,
      totalMinor: total[0],
      totalMajor: total[1],
      rate,
      totalEquivalent: total[2],
    });
    expect(JSON.parse(r.out)).to.deep.equal({
      format: "custody-large-value-report-v1",
      reportDate: "2026-03-02",
      institution: INSTITUTION,
      reportingCurrency: "CNY",
      entries: [
        {
          ...entry("alice", alice, "in", "CNY", ["5600000", "56000.00", "56000.00"], "1"),
          transactions: [
            tx("c1", 9, "3000000", "30000.00", "30000.00", "cash-desk"),
            tx("c2", 10, "2500000", "25000.00", "25000.00", "cash-desk"),
            tx("c3", 11, "100000", "1000.00", "1000.00", "cash-desk"),
          ],
        },
        {
          ...entry("alice", alice, "out", "CNY", ["5100000", "51000.00", "51000.00"], "1"),
          transactions: [tx("w1", 13, "5100000", "51000.00", "51000.00", "cash-desk")],
        },
        {
          ...entry("hans", hans, "in", "EUR", ["710000", "7100.00", "50576.14"], "7.1234"),
          transactions: [tx("e1", 14, "710000", "7100.00", "50576.14", "eur-cash")],
        },
      ],
      notEvaluated: [
        {
          alertId: id("pboc.lv.cash", "taro", "in", "JPY"),
          ruleId: "pboc.lv.cash",
          accountId: "taro",
          window: "2026-03-02/in/JPY",
          reason: "no rate for JPY",
        },
      ],
    });
  });

  it("the previous day has its own report; bad dates, formats and a missing institution exit 2", async () => {
    const prev = await cli(
      "report",
      "large-value",
      "--db",
      env.url,
      "--date",
      "2026-03-01",
      "--institution",
      "X",
    );
    expect(prev.code, prev.err).to.equal(EXIT_VALID);
    const lines = prev.out.split("\r\n");
    expect(lines).to.have.length(2);
    expect(lines[1]).to.contain(`,c0,${seq.c0},2026-03-01T15:30:00.000Z,6000000,60000.00,60000.00,`);
    const bad = await cli(
      "report",
      "large-value",
      "--db",
      env.url,
      "--date",
      "2026-02-30",
      "--institution",
      "X",
    );
    expect([bad.code, bad.err]).to.deep.equal([
      EXIT_USAGE,
      'error: not a reporting date: "2026-02-30"\n  expected YYYY-MM-DD\nno verdict was reached',
    ]);
    const fmt = await cli("report", "large-value", ...common(), "--format", "xml");
    expect([fmt.code, fmt.err]).to.deep.equal([EXIT_USAGE, 'error: --format must be csv or json, not "xml"']);
    delete process.env.CUSTODY_INSTITUTION_ID;
    const noInst = await cli("report", "large-value", "--db", env.url, "--date", "2026-03-02");
    expect(noInst.code).to.equal(EXIT_USAGE);
    expect(noInst.err).to.contain("--institution");
  });

  it("needs the ledger's pseudonym key, and refuses another key before reading anything", async () => {
    delete process.env.CUSTODY_PSEUDONYM_KEY;
    try {
      const none = await cli("report", "large-value", ...common());
      expect(none.code).to.equal(EXIT_USAGE);
      expect(none.err).to.contain("$CUSTODY_PSEUDONYM_KEY");
      const file = path.join(env.dir, "other.key");
      fs.writeFileSync(file, "ab".repeat(32), { mode: 0o600 });
      const other = await cli("report", "large-value", ...common(), "--pseudonym-key-file", file);
      expect(other.code).to.not.equal(EXIT_VALID);
      expect(other.out).to.equal("");
      expect(other.err).to.contain("pseudonym key differs");
    } finally {
      process.env.CUSTODY_PSEUDONYM_KEY = KEY_HEX;
    }
  });
});
