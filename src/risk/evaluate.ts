import type { CompiledRule, CompiledRules, RuleType, Severity } from "./rules-file";
import { compareConverted, convertFloor, type Rate } from "./rates";

/**
 * The rules themselves: pure functions of (rules, state, event) → hits. No I/O, no clock: time is
 * the event's own timestamp, so replaying the same events from the same state gives the same hits.
 * The engine (engine.ts) feeds committed ledger events in sequence order and persists the state
 * with its cursor.
 */

/** What the rules know about an account (from the ledger's account row and its metadata). */
export interface AccountProfile {
  id: string;
  /** Ledger account type: only `customer` accounts are subjects of the customer rules. */
  type: string;
  asset: string;
  scale: number;
  /** metadata.holder; default individual. */
  holder: "individual" | "company";
  /** metadata.channel of a settlement or mirror account: how money reaches the outside. */
  channel: "cash" | "domestic" | "cross_border";
  createdAt: number;
}

export interface MovementEvent {
  kind: "movement";
  sequence: number;
  /** ms since the Unix epoch (the ledger's timestamp). */
  at: number;
  /** Ledger transfer kind. */
  transferKind: string;
  asset: string;
  amount: bigint;
  debit: AccountProfile;
  credit: AccountProfile;
}

export interface FactEvent {
  kind: "fact";
  sequence: number;
  at: number;
  factKind: string;
  factId: string;
  subject?: string;
  asset?: string;
  amount?: bigint;
}

export type RiskEvent = MovementEvent | FactEvent;

export interface RuleHit {
  ruleId: string;
  ruleType: RuleType;
  severity: Severity;
  action: "alert" | "freeze";
  /** `cannot_evaluate`: the rule lacked an input (a rate, a liabilities figure); it never guesses. */
  outcome: "triggered" | "cannot_evaluate";
  /** Account id, `asset:<code>`, or a system name. */
  subject: string;
  /** Dedup window: one alert per (rule, subject, window). */
  window: string;
  sequence: number;
  at: number;
  /**
   * Every amount is a decimal string of minor units: of `asset` (the event's asset), or of
   * `currency` (the rule file's reporting currency) for thresholds and converted totals;
   * `thresholdMajor` repeats the threshold in major units as the rule file states it.
   */
  details: Record<string, string>;
}

interface DayTotals {
  day: string;
  /** `<ruleId>|<direction>|<asset>` → accumulated minor units of the asset. */
  sums: Map<string, bigint>;
  /** Keys already alerted today. */
  alerted: Set<string>;
}

/** Per-account state of the window rules. */
export interface AccountRiskState {
  lastActivity?: number;
  day?: DayTotals;
  debits: number[];
  /** Structuring: timestamps of near-threshold amounts, per rule id. */
  near: Map<string, number[]>;
  credits: { at: number; amount: bigint; asset: string; sequence: number }[];
}

export interface GlobalRiskState {
  /** Latest LIABILITIES_SNAPSHOT amount per asset. */
  liabilities: Map<string, bigint>;
}

const DAY_MS = 86_400_000;
const MOVING_KINDS = new Set(["deposit", "withdrawal", "transfer", "escrow_release", "adjustment"]);

/** Fact kinds the rules read (FACT_KINDS names). */
export const RISK_INPUT_FACTS = {
  segregationRefused: "SEGREGATION_REFUSED",
  reconciliation: "BANK_RECONCILIATION",
  liabilities: "LIABILITIES_SNAPSHOT",
  reserves: "RESERVES_ATTESTED",
} as const;

export function newAccountState(): AccountRiskState {
  return { debits: [], near: new Map(), credits: [] };
}

/** The reporting day of `at` (YYYY-MM-DD) for a day that starts at UTC − offset. */
export function reportingDay(at: number, dayOffsetMs: number): string {
  const n = Math.floor((at + dayOffsetMs) / DAY_MS);
  // Events come in time order: the day is nearly always the previous event's.
  if (n !== lastDay.n) {
    lastDay.n = n;
    lastDay.text = new Date(n * DAY_MS).toISOString().slice(0, 10);
  }
  return lastDay.text;
}
const lastDay = { n: Number.NaN, text: "" };

function iso(at: number): string {
  return new Date(at).toISOString();
}

/** Drops timestamps at or before `at − windowMs` (a window is (at − w, at]). */
function trim(list: number[], at: number, windowMs: number): void {
  let i = 0;
  while (i < list.length && list[i] <= at - windowMs) i++;
  if (i > 0) list.splice(0, i);
}

/** Whether `amount` converted at `rate` reaches `minMinor` (false without a rate: never a guess). */
function reaches(
  amount: bigint,
  scale: number,
  rate: Rate | undefined,
  minMinor: bigint,
  rs: number,
): boolean {
  return rate !== undefined && compareConverted(amount, scale, rate, minMinor, rs) >= 0;
}

/**
 * Whether large-value rule `r` counts a movement of customer `who` with counterparty `other`: the
 * counterparty's channel (cash desk, domestic or cross-border settlement), the holder type.
 */
export function largeValueCounts(
  r: CompiledRule,
  who: AccountProfile,
  other: AccountProfile,
): r is Extract<CompiledRule, { type: "large_value" }> {
  const channel = other.channel === "cash" ? "cash" : "transfer";
  const scope = other.channel === "cross_border" ? "cross_border" : "domestic";
  if (r.type !== "large_value" || r.channel !== channel) return false;
  if (r.holder !== "any" && r.holder !== who.holder) return false;
  return channel === "cash" || r.scope === "any" || r.scope === scope;
}

/** Ledger transfer kinds that move money for the customer rules. */
export function isMovingKind(transferKind: string): boolean {
  return MOVING_KINDS.has(transferKind);
}

interface Plan {
  largeValue: CompiledRule[];
  structuring: CompiledRule[];
  velocity: CompiledRule[];
  passThrough: CompiledRule[];
  dormant: CompiledRule[];
  segregation: CompiledRule[];
  reconciliation: CompiledRule[];
  shortfall: CompiledRule[];
  anchorLag: CompiledRule[];
  maxDebitWindowMs: number;
  maxCreditWindowMs: number;
  /** The smallest pass-through minAmount (reporting minor units): no smaller credit can match. */
  minCreditMinor: bigint;
}

/**
 * Evaluates events against one compiled rule file. State lives in the maps the caller owns
 * (`accounts`, `global`); `dirty` collects the account ids whose state changed.
 */
export class RuleEvaluator {
  readonly rules: CompiledRules;
  readonly #p: Plan;

  constructor(rules: CompiledRules) {
    this.rules = rules;
    const t = (x: RuleType) => rules.rules.filter((r) => r.type === x);
    const mins = (rs: CompiledRule[]) =>
      Math.max(0, ...rs.map((r) => ("windowMinutes" in r ? r.windowMinutes * 60_000 : 0)));
    this.#p = {
      largeValue: t("large_value"),
      structuring: t("structuring"),
      velocity: t("velocity"),
      passThrough: t("pass_through"),
      dormant: t("dormant"),
      segregation: t("segregation_refusal"),
      reconciliation: t("reconciliation_break"),
      shortfall: t("reserve_shortfall"),
      anchorLag: t("anchor_lag"),
      maxDebitWindowMs: mins(t("velocity")),
      maxCreditWindowMs: mins(t("pass_through")),
      minCreditMinor: t("pass_through").reduce(
        (m, r) => (m < 0n || r.minAmountMinor! < m ? r.minAmountMinor! : m),
        -1n,
      ),
    };
  }

  #hit(
    r: CompiledRule,
    e: { sequence: number; at: number },
    subject: string,
    window: string,
    details: Record<string, string>,
    outcome: RuleHit["outcome"] = "triggered",
  ): RuleHit {
    return {
      ruleId: r.id,
      ruleType: r.type,
      severity: r.severity,
      action: outcome === "triggered" ? r.action : "alert",
      outcome,
      subject,
      window,
      sequence: e.sequence,
      at: e.at,
      details,
    };
  }

  evaluate(
    e: RiskEvent,
    accounts: Map<string, AccountRiskState>,
    global: GlobalRiskState,
    dirty: Set<string>,
    out: RuleHit[],
  ): void {
    if (e.kind === "fact") return this.#fact(e, global, out);
    if (!MOVING_KINDS.has(e.transferKind)) return;
    if (e.debit.type === "customer") this.#side(e, e.debit, e.credit, "out", accounts, dirty, out);
    if (e.credit.type === "customer") this.#side(e, e.credit, e.debit, "in", accounts, dirty, out);
  }

  #side(
    e: MovementEvent,
    who: AccountProfile,
    other: AccountProfile,
    dir: "in" | "out",
    accounts: Map<string, AccountRiskState>,
    dirty: Set<string>,
    out: RuleHit[],
  ): void {
    const p = this.#p;
    const rules = this.rules;
    let s = accounts.get(who.id);
    if (!s) accounts.set(who.id, (s = newAccountState()));
    dirty.add(who.id);
    const rate = rules.rate(e.asset);
    const scale = who.scale;
    const rs = rules.currency.scale;
    const day = reportingDay(e.at, rules.dayOffsetMs);

    // Dormant: the gap since the last movement (or since opening) is long enough.
    const last = s.lastActivity ?? who.createdAt;
    for (const r of p.dormant)
      if (r.type === "dormant" && e.at - last >= r.inactiveDays * DAY_MS)
        out.push(
          this.#hit(r, e, who.id, day, { lastActivity: iso(last), inactiveDays: String(r.inactiveDays) }),
        );
    s.lastActivity = e.at;

    // Large value: accumulated per customer, day, direction and asset.
    if (p.largeValue.length > 0) {
      if (!s.day || s.day.day !== day) s.day = { day, sums: new Map(), alerted: new Set() };
      for (const r of p.largeValue) {
        if (!largeValueCounts(r, who, other)) continue;
        const key = `${r.id}|${dir}|${e.asset}`;
        const sum = (s.day.sums.get(key) ?? 0n) + e.amount;
        s.day.sums.set(key, sum);
        if (s.day.alerted.has(key)) continue;
        const window = `${day}/${dir}/${e.asset}`;
        if (!rate) {
          s.day.alerted.add(key);
          out.push(
            this.#hit(
              r,
              e,
              who.id,
              window,
              { reason: `no rate for ${e.asset}`, asset: e.asset, total: sum.toString() },
              "cannot_evaluate",
            ),
          );
        } else if (compareConverted(sum, scale, rate, r.thresholdMinor!, rs) >= 0) {
          s.day.alerted.add(key);
          out.push(
            this.#hit(r, e, who.id, window, {
              direction: dir,
              asset: e.asset,
              total: sum.toString(),
              currency: rules.currency.code,
              totalConverted: convertFloor(sum, scale, rate, rs).toString(),
              threshold: r.thresholdMinor!.toString(),
              thresholdMajor: r.threshold,
            }),
          );
        }
      }
    }

    // Structuring: several single amounts just under a threshold within a window.
    for (const r of p.structuring) {
      if (r.type !== "structuring") continue;
      if (!rate) continue; // reported once a day by the large-value rules of the same asset
      const t = r.thresholdMinor!;
      // amount ≥ t·(100 − m)/100, compared exactly as 100·amount ≥ t·(100 − m).
      if (compareConverted(e.amount * 100n, scale, rate, t * BigInt(100 - r.marginPercent), rs) < 0) continue;
      if (compareConverted(e.amount, scale, rate, t, rs) >= 0) continue;
      let list = s.near.get(r.id);
      if (!list) s.near.set(r.id, (list = []));
      const w = r.windowMinutes * 60_000;
      trim(list, e.at, w);
      list.push(e.at);
      if (list.length >= r.count) {
        out.push(
          this.#hit(r, e, who.id, `from ${iso(list[0])}`, {
            count: String(list.length),
            asset: e.asset,
            amount: e.amount.toString(),
            currency: rules.currency.code,
            threshold: t.toString(),
            thresholdMajor: r.threshold,
            windowMinutes: String(r.windowMinutes),
          }),
        );
        list.length = 0;
      }
    }

    if (dir === "out") {
      // Velocity: N debits within a window.
      if (p.velocity.length > 0) {
        trim(s.debits, e.at, p.maxDebitWindowMs);
        s.debits.push(e.at);
        for (const r of p.velocity) {
          if (r.type !== "velocity") continue;
          const from = e.at - r.windowMinutes * 60_000;
          let n = 0;
          for (let i = s.debits.length - 1; i >= 0 && s.debits[i] > from; i--) n++;
          if (n >= r.count) {
            const first = s.debits[s.debits.length - n];
            out.push(
              this.#hit(r, e, who.id, `from ${iso(first)}`, {
                count: String(n),
                windowMinutes: String(r.windowMinutes),
              }),
            );
            // The next alert needs N new debits.
            s.debits.splice(0, s.debits.length);
          }
        }
      }
      // Pass-through: a debit of most of a recent credit.
      if (p.passThrough.length > 0 && s.credits.length > 0) {
        const cutoff = e.at - p.maxCreditWindowMs;
        while (s.credits.length > 0 && s.credits[0].at <= cutoff) s.credits.shift();
        for (const r of p.passThrough) {
          if (r.type !== "pass_through") continue;
          const from = e.at - r.windowMinutes * 60_000;
          const i = s.credits.findIndex(
            (c) =>
              c.at > from &&
              c.asset === e.asset &&
              e.amount * 100n >= c.amount * BigInt(r.minPercent) &&
              reaches(c.amount, scale, rate, r.minAmountMinor!, rs),
          );
          if (i < 0) continue;
          const c = s.credits[i];
          s.credits.splice(i, 1);
          out.push(
            this.#hit(r, e, who.id, `credit ${c.sequence}`, {
              creditSequence: String(c.sequence),
              creditAmount: c.amount.toString(),
              debitAmount: e.amount.toString(),
              asset: e.asset,
              minutes: String(Math.floor((e.at - c.at) / 60_000)),
            }),
          );
        }
      }
    } else if (p.passThrough.length > 0) {
      // Credits older than the longest window can match no later debit (the debit side drops
      // them too); dropping them here keeps the state, written back each batch, small. So does
      // keeping only the credits some rule could match: at or above the smallest minAmount,
      // in an asset with a rate.
      const cutoff = e.at - p.maxCreditWindowMs;
      let old = 0;
      while (old < s.credits.length && s.credits[old]!.at <= cutoff) old++;
      if (old > 0) s.credits.splice(0, old);
      if (reaches(e.amount, scale, rate, p.minCreditMinor, rs)) {
        s.credits.push({ at: e.at, amount: e.amount, asset: e.asset, sequence: e.sequence });
        if (s.credits.length > 1000) s.credits.shift();
      }
    }
  }

  #fact(e: FactEvent, global: GlobalRiskState, out: RuleHit[]): void {
    const p = this.#p;
    switch (e.factKind) {
      case RISK_INPUT_FACTS.segregationRefused:
        for (const r of p.segregation)
          out.push(this.#hit(r, e, e.subject ?? "platform", e.factId, { factId: e.factId }));
        return;
      case RISK_INPUT_FACTS.reconciliation:
        // The fact's amount is the report's total of unresolved breaks (0 = reconciled).
        if (e.amount !== undefined && e.amount > 0n)
          for (const r of p.reconciliation)
            out.push(
              this.#hit(r, e, `asset:${e.asset ?? "?"}`, e.factId, {
                factId: e.factId,
                ...(e.asset !== undefined ? { asset: e.asset } : {}),
                breaks: e.amount.toString(),
              }),
            );
        return;
      case RISK_INPUT_FACTS.liabilities:
        if (e.asset !== undefined && e.amount !== undefined) global.liabilities.set(e.asset, e.amount);
        return;
      case RISK_INPUT_FACTS.reserves: {
        if (e.asset === undefined || e.amount === undefined) return;
        const owed = global.liabilities.get(e.asset);
        for (const r of p.shortfall) {
          if (owed === undefined)
            out.push(
              this.#hit(
                r,
                e,
                `asset:${e.asset}`,
                e.factId,
                { reason: "no liabilities snapshot yet" },
                "cannot_evaluate",
              ),
            );
          else if (e.amount < owed)
            out.push(
              this.#hit(r, e, `asset:${e.asset}`, e.factId, {
                asset: e.asset,
                reserves: e.amount.toString(),
                liabilities: owed.toString(),
                shortfall: (owed - e.amount).toString(),
              }),
            );
        }
        return;
      }
    }
  }

  /** Anchoring lag (not an event: the engine asks on a timer). One alert per rule and hour. */
  anchorLag(lagSeconds: number, now: number): RuleHit[] {
    const out: RuleHit[] = [];
    for (const r of this.#p.anchorLag)
      if (r.type === "anchor_lag" && lagSeconds > r.maxSeconds)
        out.push(
          this.#hit(
            r,
            { sequence: -1, at: now },
            "relayer",
            iso(Math.floor(now / 3_600_000) * 3_600_000).slice(0, 13),
            {
              lagSeconds: String(lagSeconds),
              maxSeconds: String(r.maxSeconds),
            },
          ),
        );
    return out;
  }
}

/** JSON form of an account's state (bigints as decimal strings), for the engine's state table. */
export function accountStateToJson(s: AccountRiskState): string {
  return JSON.stringify({
    l: s.lastActivity,
    d: s.day && {
      day: s.day.day,
      sums: [...s.day.sums].map(([k, v]) => [k, v.toString()]),
      alerted: [...s.day.alerted],
    },
    v: s.debits,
    n: [...s.near],
    c: s.credits.map((c) => [c.at, c.amount.toString(), c.asset, c.sequence]),
  });
}

export function accountStateFromJson(text: string): AccountRiskState {
  const o = JSON.parse(text) as {
    l?: number;
    d?: { day: string; sums: [string, string][]; alerted: string[] };
    v: number[];
    n: [string, number[]][];
    c: [number, string, string, number][];
  };
  return {
    lastActivity: o.l,
    day: o.d && {
      day: o.d.day,
      sums: new Map(o.d.sums.map(([k, v]) => [k, BigInt(v)])),
      alerted: new Set(o.d.alerted),
    },
    debits: o.v,
    near: new Map(o.n),
    credits: o.c.map(([at, amount, asset, sequence]) => ({ at, amount: BigInt(amount), asset, sequence })),
  };
}

export function globalStateToJson(g: GlobalRiskState): string {
  return JSON.stringify({ liabilities: [...g.liabilities].map(([k, v]) => [k, v.toString()]) });
}

export function globalStateFromJson(text: string | undefined): GlobalRiskState {
  if (!text) return { liabilities: new Map() };
  const o = JSON.parse(text) as { liabilities: [string, string][] };
  return { liabilities: new Map(o.liabilities.map(([k, v]) => [k, BigInt(v)])) };
}

export type { Rate };
