import { expect } from "chai";
import type { Database } from "../../src/db/database";
import { all } from "../../src/db/sql";
import type { Ledger } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import { describeWithPg } from "../support/pg";
import { openTestLedger } from "../ledger/support";
import { openRiskLedger } from "./fixture";

/**
 * A batch's rule state goes out in multi-row upserts (chunks of 256, then powers of two): every key
 * of a batch of 293 is stored, and a later batch overwrites the keys it carries, on both backends.
 */
function stateUpsertBehaviour(open: () => Promise<{ db: Database; ledger: Ledger; close(): Promise<void> }>) {
  it("stores every key of a large batch's state and overwrites the keys a later batch carries", async () => {
    const env = await open();
    try {
      const engine = await RiskEngine.open(env.db, env.ledger, env.ledger);
      const base = {
        to: engine.cursor,
        processed: 0,
        revision: engine.rules.revision,
        now: 1,
        hits: [],
        webhook: false,
      };
      const keys = Array.from({ length: 256 + 32 + 4 + 1 }, (_, i) => `test:${i}`);
      await engine.commitBatch({
        ...base,
        from: engine.cursor,
        states: keys.map((k) => [k, `{"v":1,"k":"${k}"}`]),
      });
      const again = keys.filter((_, i) => i % 3 === 0);
      await engine.commitBatch({ ...base, from: engine.cursor, states: again.map((k) => [k, `{"v":2}`]) });
      const rows = await all<{ key: string; state: string }>(
        env.db,
        "SELECT key, state FROM risk_state WHERE key LIKE 'test:%'",
      );
      const stored = new Map(rows.map((r) => [r.key, r.state]));
      expect(stored.size).to.equal(keys.length);
      keys.forEach((k, i) =>
        expect(stored.get(k), k).to.equal(i % 3 === 0 ? `{"v":2}` : `{"v":1,"k":"${k}"}`),
      );
    } finally {
      await env.close();
    }
  });
}

describe("risk engine's state upserts (SQLite)", () => stateUpsertBehaviour(() => openRiskLedger()));

describeWithPg("risk engine's state upserts (PostgreSQL)", (ctx) =>
  stateUpsertBehaviour(() => openTestLedger({ name: "postgres", url: () => ctx.url })),
);
