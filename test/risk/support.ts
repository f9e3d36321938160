import { expect } from "chai";
import type { AccountProfile, MovementEvent, RuleHit } from "../../src/risk/evaluate";
import {
  RuleEvaluator,
  type AccountRiskState,
  type GlobalRiskState,
  type RiskEvent,
} from "../../src/risk/evaluate";
import {
  DEFAULT_RULE_FILE,
  RULE_FILE_FORMAT,
  compileRuleFile,
  type RuleFile,
} from "../../src/risk/rules-file";

export const T0 = Date.parse("2026-03-02T00:00:00+08:00"); // a Beijing midnight

export function profile(id: string, over: Partial<AccountProfile> = {}): AccountProfile {
  return {
    id,
    type: "customer",
    asset: "CNY",
    scale: 2,
    holder: "individual",
    channel: "domestic",
    createdAt: T0 - 86_400_000,
    ...over,
  };
}

export const cashDesk = profile("cash-desk", { type: "settlement", channel: "cash" });
export const swift = profile("swift-out", { type: "settlement", channel: "cross_border" });

let seq = 0;
export function move(
  debit: AccountProfile,
  credit: AccountProfile,
  amount: bigint,
  at: number,
  over: Partial<MovementEvent> = {},
): MovementEvent {
  return {
    kind: "movement",
    sequence: seq++,
    at,
    transferKind:
      credit.type === "settlement" ? "withdrawal" : debit.type === "settlement" ? "deposit" : "transfer",
    asset: debit.asset,
    amount,
    debit,
    credit,
    ...over,
  };
}

/** A rule file holding only the named default rules (plus any overrides). */
export function rulesWith(ids: string[], over: Partial<RuleFile> = {}): string {
  return JSON.stringify({
    ...DEFAULT_RULE_FILE,
    format: RULE_FILE_FORMAT,
    rules: DEFAULT_RULE_FILE.rules.filter((r) => ids.includes(r.id)),
    ...over,
  });
}

/** Runs events through a fresh evaluator; returns every hit. */
export function runRules(source: string, events: RiskEvent[]): RuleHit[] {
  const ev = new RuleEvaluator(compileRuleFile(source));
  const accounts = new Map<string, AccountRiskState>();
  const global: GlobalRiskState = { liabilities: new Map() };
  const out: RuleHit[] = [];
  for (const e of events) ev.evaluate(e, accounts, global, new Set(), out);
  return out;
}

export const MIN = 60_000;
export const DAY = 86_400_000;

import type { Fact, FactInput, FactPort } from "../../src/risk/ports";

/**
 * Facts kept in memory, for engine tests that do not need them in the log (the ledger's
 * recordFact is the real port once wired; idempotency is the same contract).
 */
export class MemoryFacts implements FactPort {
  readonly facts = new Map<string, Fact>();
  seq = 1_000_000;
  failNext = 0;
  async recordFact(input: FactInput): Promise<Fact> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("fact store unavailable");
    }
    const old = this.facts.get(input.id);
    if (old) {
      if (old.documentHash !== input.documentHash) throw new Error(`idempotency conflict on ${input.id}`);
      return old;
    }
    const f: Fact = { ...input, sequence: this.seq++, recordedAt: Date.now() };
    this.facts.set(input.id, f);
    return f;
  }
  async getFact(id: string): Promise<Fact> {
    const f = this.facts.get(id);
    if (!f) throw new Error(`unknown fact ${id}`);
    return f;
  }
  async listFacts(opts: { kind?: string; afterSequence?: number; limit?: number } = {}): Promise<Fact[]> {
    return [...this.facts.values()]
      .filter(
        (f) => (opts.kind === undefined || f.kind === opts.kind) && f.sequence > (opts.afterSequence ?? -1),
      )
      .sort((a, b) => a.sequence - b.sequence)
      .slice(0, opts.limit ?? 1000);
  }
  ofKind(kind: string): Fact[] {
    return [...this.facts.values()].filter((f) => f.kind === kind);
  }
}

/** Awaits `p` and expects it to reject with an instance of `cls`; returns the error. */
export async function rejects<E extends Error>(
  p: Promise<unknown>,
  cls: abstract new (...a: never[]) => E,
): Promise<E> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(cls);
    return e as E;
  }
  return expect.fail(`expected ${cls.name}`);
}
