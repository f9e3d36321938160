import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { openDatabase, closeDatabase } from "../../src/db/database";
import { openLedger, TRANSFER_KINDS, type Ledger } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import {
  RuleEvaluator,
  accountStateToJson,
  type AccountProfile,
  type AccountRiskState,
  type RuleHit,
} from "../../src/risk/evaluate";
import { alertIdOf } from "../../src/risk/documents";
import { compileRuleFile } from "../../src/risk/rules-file";
import { all } from "../../src/db/tx-runner";
import { CRASH_RULES } from "./crash-rules";
import { KEY, openRiskLedger } from "./fixture";

const CHILD = path.join(__dirname, "crash-child.ts");

function runChild(
  url: string,
  seed: number,
  count: number,
  env: Record<string, string>,
  killAfterLines?: number,
) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", CHILD, url, String(seed), String(count)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (killAfterLines !== undefined && out.split("\n").length > killAfterLines) p.kill("SIGKILL");
    });
    p.on("exit", (code, signal) => resolve({ code, signal, out }));
  });
}

/** The reference: every event evaluated exactly once, in order, by the pure rules. */
async function reference(ledger: Ledger) {
  const ev = new RuleEvaluator(compileRuleFile(CRASH_RULES));
  const accounts = new Map<string, AccountRiskState>();
  const hits: RuleHit[] = [];
  const profiles = new Map<string, AccountProfile>();
  const profile = async (id: string) => {
    let p = profiles.get(id);
    if (!p) {
      const a = await ledger.getAccount(id);
      const m = a.metadata ?? {};
      p = {
        id,
        type: a.type,
        asset: a.asset,
        scale: a.scale,
        holder: m.holder === "company" ? "company" : "individual",
        channel: m.channel === "cash" ? "cash" : m.channel === "cross_border" ? "cross_border" : "domestic",
        createdAt: a.createdAt,
      };
      profiles.set(id, p);
    }
    return p;
  };
  const kinds = Object.fromEntries(Object.entries(TRANSFER_KINDS).map(([k, v]) => [v, k]));
  for (const e of await ledger.getEvents(0, 10_000)) {
    if (e.entry.eventType !== "TRANSFER_POSTED") continue;
    ev.evaluate(
      {
        kind: "movement",
        sequence: e.sequence,
        at: e.createdAt,
        transferKind: kinds[e.entry.code],
        asset: e.entry.asset,
        amount: e.entry.amount,
        debit: await profile(e.accounts[0]),
        credit: await profile(e.accounts[1]),
      },
      accounts,
      { liabilities: new Map() },
      new Set(),
      hits,
    );
  }
  return { accounts, hits };
}

describe("risk engine: exactly once across kill -9 (child processes)", function () {
  this.timeout(300_000);

  it("a SIGKILL between the ledger's commit and the engine's commit, then random SIGKILLs, leave each event evaluated once", async () => {
    const env = await openRiskLedger();
    await env.close();
    // 1. Killed by itself after evaluating its 3rd batch, before committing it.
    const a = await runChild(env.url, 11, 60, { RISK_CRASH_AT_BATCH: "3" });
    expect(a.signal).to.equal("SIGKILL");
    // 2. Killed from outside at an arbitrary point, twice.
    for (const [seed, lines] of [
      [12, 3],
      [13, 5],
    ] as const) {
      const r = await runChild(env.url, seed, 200, {}, lines);
      expect(r.signal).to.equal("SIGKILL");
    }
    // 3. A fresh engine resumes from the committed cursor and catches up.
    const db = openDatabase(env.url);
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    try {
      const engine = await RiskEngine.open(db, ledger, ledger, { rules: CRASH_RULES });
      await engine.drain();
      const total = await ledger.eventCount();
      expect(engine.cursor).to.equal(total);
      const ref = await reference(ledger);
      expect(ref.hits.length).to.be.greaterThan(5);
      const rows = await engine.runner.read(() =>
        all<{ id: string }>("SELECT id FROM risk_alerts ORDER BY id"),
      );
      const expected = [...new Set(ref.hits.map((h) => alertIdOf(h.ruleId, h.subject, h.window)))].sort();
      expect(rows.map((r) => r.id)).to.deep.equal(expected);
      // The committed rule state equals one evaluation of every event (a double count would differ).
      const states = await engine.runner.read(() =>
        all<{ key: string; state: string }>("SELECT key, state FROM risk_state"),
      );
      const got = Object.fromEntries(states.map((s) => [s.key, s.state]));
      for (const [id, s] of ref.accounts) expect(got[`account:${id}`], id).to.equal(accountStateToJson(s));
      const processed = await engine.runner.read(() =>
        all<{ processed: number }>("SELECT processed FROM risk_cursor"),
      );
      expect(processed[0].processed).to.equal(total);
    } finally {
      await ledger.close();
      await closeDatabase(db);
    }
  });
});
