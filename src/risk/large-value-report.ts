import { formatMinorUnits } from "../bank/currency";
import type { Ledger, LedgerEvent } from "../ledger";
import { dayNumberOf } from "../protocol/balance-proof-v1";
import { movementOf, profileOf } from "./engine";
import { InvalidRiskInputError, RiskStateError } from "./errors";
import {
  type AccountProfile,
  type MovementEvent,
  isMovingKind,
  largeValueCounts,
  reportingDay,
} from "./evaluate";
import type { Rate } from "./rates";
import { type CompiledRules, compileRuleFile } from "./rules-file";
import { type SqlRunner, all } from "../db/tx-runner";

/** Format name of the daily large-value transaction report; spec in docs/risk-v1.md. */
export const LARGE_VALUE_REPORT_FORMAT = "custody-large-value-report-v1";

/** One transaction of a reported customer-day, with the day's aggregate it belongs to. */
export interface LargeValueTransaction {
  transferId: string;
  sequence: number;
  /** ISO 8601 time the ledger posted it. */
  time: string;
  amountMinor: string;
  amountMajor: string;
  /** Exact equivalent in the reporting currency's major units. */
  equivalent: string;
  counterparty: { accountId: string; type: string; channel: AccountProfile["channel"] };
}

/** One large-value alert: a customer's total for one day, direction and asset at or above a threshold. */
export interface LargeValueEntry {
  alertId: string;
  ruleId: string;
  /** The rule's threshold, in major units of the reporting currency. */
  threshold: string;
  rulesRevision: number;
  accountId: string;
  customerPseudonym: string;
  customerType: AccountProfile["holder"];
  direction: "in" | "out";
  asset: string;
  totalMinor: string;
  totalMajor: string;
  /** Reporting-currency major units per asset major unit, as the rule file gave it. */
  rate: string;
  totalEquivalent: string;
  transactions: LargeValueTransaction[];
}

export interface LargeValueReport {
  format: typeof LARGE_VALUE_REPORT_FORMAT;
  reportDate: string;
  institution: string;
  reportingCurrency: string;
  entries: LargeValueEntry[];
  /** Customer-days a rule could not evaluate (no rate for the asset): listed, never guessed. */
  notEvaluated: { alertId: string; ruleId: string; accountId: string; window: string; reason: string }[];
}

interface AlertDoc {
  id: string;
  ruleId: string;
  ruleType: string;
  rulesRevision: number;
  outcome: "triggered" | "cannot_evaluate";
  subject: string;
  window: string;
  details: Record<string, string>;
}

/** num/den (den a power of ten) times 10^-scale, as an exact decimal with at least `minDecimals`. */
function exactDecimal(num: bigint, den: bigint, scale: number, minDecimals: number): string {
  const digits = den.toString().length - 1 + scale;
  let s = formatMinorUnits(num, digits);
  if (digits > minDecimals) s = s.replace(/0+$/, "").replace(/\.$/, "");
  const dot = s.indexOf(".");
  const have = dot < 0 ? 0 : s.length - dot - 1;
  if (have < minDecimals) s = (dot < 0 ? `${s}.` : s) + "0".repeat(minDecimals - have);
  return s;
}

function rateText(r: Rate): string {
  return exactDecimal(r.num, r.den, 0, 0);
}

/**
 * The daily large-value transaction report for `date` (a reporting day of the rule file's time
 * zone): one entry per large-value alert of that day, with every transaction the rule counted for
 * that customer, direction and asset on that day (including those after the threshold was crossed),
 * converted with the rate of the rule file revision that raised the alert. Reads only: the
 * alerts, the rule files they name, and the ledger's events around the day.
 */
export async function largeValueReport(p: {
  runner: SqlRunner;
  ledger: Pick<Ledger, "getAccount" | "getEvents" | "eventCount">;
  date: string;
  institution: string;
}): Promise<LargeValueReport> {
  try {
    dayNumberOf(p.date);
  } catch {
    throw new InvalidRiskInputError(`not a reporting date: ${JSON.stringify(p.date)}`, {
      details: "expected YYYY-MM-DD",
    });
  }
  const institution = p.institution.trim();
  if (!institution) throw new InvalidRiskInputError("the report needs the reporting institution");
  const rows = await p.runner.read(() =>
    all<{ document: string }>(
      "SELECT document FROM risk_alerts WHERE window_key LIKE ? ORDER BY subject, window_key, rule_id",
      `${p.date}/%`,
    ),
  );
  const docs = rows
    .map((r) => JSON.parse(r.document) as AlertDoc)
    .filter((d) => d.ruleType === "large_value");
  const revisions = new Map<number, CompiledRules>();
  const rulesOf = async (revision: number): Promise<CompiledRules> => {
    let c = revisions.get(revision);
    if (!c) {
      const [r] = await p.runner.read(() =>
        all<{ source: string }>("SELECT source FROM risk_rulesets WHERE revision = ?", revision),
      );
      if (!r) throw new RiskStateError(`rule file revision ${revision} is not stored`);
      revisions.set(revision, (c = compileRuleFile(r.source)));
    }
    return c;
  };
  const profiles = new Map<string, AccountProfile>();
  const pseudonyms = new Map<string, string>();
  const profile = async (id: string) => {
    let pr = profiles.get(id);
    if (!pr) {
      const a = await p.ledger.getAccount(id);
      profiles.set(id, (pr = profileOf(a)));
      pseudonyms.set(id, a.pseudonym);
    }
    return pr;
  };

  const [latest] = await p.runner.read(() =>
    all<{ revision: unknown }>("SELECT MAX(revision) AS revision FROM risk_rulesets"),
  );
  if (latest?.revision === null || latest?.revision === undefined)
    throw new RiskStateError("no rule file is active: the rules engine never ran on this database");
  let movements: { ev: LedgerEvent; m: MovementEvent }[] | undefined;
  // Every movement near the day (any time zone a rule file may use); filtered per alert below.
  const dayMovements = async () => {
    if (movements) return movements;
    movements = [];
    const start = Date.parse(`${p.date}T00:00:00Z`);
    for (const ev of await eventsBetween(p.ledger, start - 14 * HOUR, start + 38 * HOUR)) {
      const m = await movementOf(ev, profile);
      if (m) movements.push({ ev, m });
    }
    return movements;
  };
  const report: LargeValueReport = {
    format: LARGE_VALUE_REPORT_FORMAT,
    reportDate: p.date,
    institution,
    reportingCurrency: (await rulesOf(Number(latest.revision))).currency.code,
    entries: [],
    notEvaluated: [],
  };
  for (const d of docs) {
    const rules = await rulesOf(d.rulesRevision);
    if (d.outcome !== "triggered") {
      report.notEvaluated.push({
        alertId: d.id,
        ruleId: d.ruleId,
        accountId: d.subject,
        window: d.window,
        reason: d.details.reason ?? "",
      });
      continue;
    }
    const rule = rules.rules.find((r) => r.id === d.ruleId);
    const [, direction, asset] = d.window.split("/") as [string, "in" | "out", string];
    const rate = rules.rate(asset);
    if (!rule || !rate)
      throw new RiskStateError(
        `alert ${d.id}: rule ${d.ruleId} or the rate of ${asset} is not in revision ${d.rulesRevision}`,
      );
    const who = await profile(d.subject);
    const rs = rules.currency.scale;
    const transactions: LargeValueTransaction[] = [];
    let total = 0n;
    for (const { ev, m } of await dayMovements()) {
      if (!isMovingKind(m.transferKind) || m.asset !== asset) continue;
      if (reportingDay(m.at, rules.dayOffsetMs) !== p.date) continue;
      const mine = direction === "out" ? m.debit : m.credit;
      const other = direction === "out" ? m.credit : m.debit;
      if (mine.id !== d.subject || !largeValueCounts(rule, who, other)) continue;
      total += m.amount;
      transactions.push({
        transferId: ev.subject.id,
        sequence: m.sequence,
        time: new Date(m.at).toISOString(),
        amountMinor: m.amount.toString(),
        amountMajor: formatMinorUnits(m.amount, who.scale),
        equivalent: exactDecimal(m.amount * rate.num, rate.den, who.scale, rs),
        counterparty: { accountId: other.id, type: other.type, channel: other.channel },
      });
    }
    report.entries.push({
      alertId: d.id,
      ruleId: d.ruleId,
      // Alert details carry the threshold in minor units and, for people, in major units.
      threshold: d.details.thresholdMajor ?? d.details.threshold ?? "",
      rulesRevision: d.rulesRevision,
      accountId: d.subject,
      customerPseudonym: pseudonyms.get(d.subject)!,
      customerType: who.holder,
      direction,
      asset,
      totalMinor: total.toString(),
      totalMajor: formatMinorUnits(total, who.scale),
      rate: rateText(rate),
      totalEquivalent: exactDecimal(total * rate.num, rate.den, who.scale, rs),
      transactions,
    });
  }
  return report;
}

const HOUR = 3_600_000;

/**
 * The events committed in [from, to), by their ledger time. Precondition: the ledger's timestamps
 * do not decrease along the log (one clock stamps each commit), so a binary search finds the start.
 */
async function eventsBetween(
  ledger: Pick<Ledger, "getEvents" | "eventCount">,
  from: number,
  to: number,
): Promise<LedgerEvent[]> {
  const n = await ledger.eventCount();
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [e] = await ledger.getEvents(mid, 1);
    if (e!.createdAt < from) lo = mid + 1;
    else hi = mid;
  }
  const out: LedgerEvent[] = [];
  for (let s = lo; s < n;) {
    const page = await ledger.getEvents(s, 1000);
    if (page.length === 0) break;
    for (const e of page) {
      if (e.createdAt >= to) return out;
      out.push(e);
    }
    s += page.length;
  }
  return out;
}

/** The CSV columns, one line per transaction (the entry's fields repeated on each). */
export const LARGE_VALUE_CSV_COLUMNS = [
  "report_date",
  "institution",
  "alert_id",
  "rule_id",
  "threshold",
  "reporting_currency",
  "account_id",
  "customer_pseudonym",
  "customer_type",
  "direction",
  "asset",
  "day_total_minor",
  "day_total_major",
  "rate",
  "day_total_equivalent",
  "transfer_id",
  "sequence",
  "time",
  "amount_minor",
  "amount_major",
  "amount_equivalent",
  "counterparty_account_id",
  "counterparty_type",
  "counterparty_channel",
] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as RFC 4180 CSV: a header line, then one line per transaction, CRLF line ends. */
export function largeValueCsv(r: LargeValueReport): string {
  const lines = [LARGE_VALUE_CSV_COLUMNS.join(",")];
  for (const e of r.entries)
    for (const t of e.transactions)
      lines.push(
        [
          r.reportDate,
          r.institution,
          e.alertId,
          e.ruleId,
          e.threshold,
          r.reportingCurrency,
          e.accountId,
          e.customerPseudonym,
          e.customerType,
          e.direction,
          e.asset,
          e.totalMinor,
          e.totalMajor,
          e.rate,
          e.totalEquivalent,
          t.transferId,
          t.sequence,
          t.time,
          t.amountMinor,
          t.amountMajor,
          t.equivalent,
          t.counterparty.accountId,
          t.counterparty.type,
          t.counterparty.channel,
        ]
          .map(csvField)
          .join(","),
      );
  return lines.join("\r\n") + "\r\n";
}
