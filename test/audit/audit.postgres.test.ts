import { expect } from "chai";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { startDevChain } from "../../src/chain/dev";
import type { AuditReport } from "../../src/audit";
import { EXIT_INVALID, EXIT_VALID } from "../../src/cli/context";
import { runCli } from "../../src/cli/main";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { type AuditChain, FEES, KEY, anchorHeads, auditArgs, populateLedger, tempDir } from "./support";

describeWithPg("custody audit --db postgres:// (anvil chain)", (ctx) => {
  let chain: AuditChain;
  let dir: string;
  let sizes: number[];

  before(async function () {
    this.timeout(120_000);
    chain = await startDevChain();
    dir = tempDir();
    const db = openDatabase(ctx.url);
    const ledger = await openLedger(db, { pseudonymKey: KEY, feeSchedule: FEES });
    await populateLedger(ledger, chain);
    const n = await ledger.eventCount();
    sizes = [6, 12, 18, n];
    await anchorHeads(ledger, db, chain, sizes);
    await ledger.close();
    await closeDatabase(db);
  });

  after(async () => {
    await chain?.node.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function audit() {
    const out = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
    const errs: string[] = [];
    const code = await runCli(auditArgs(chain, ctx.url, out), { out: () => {}, err: (e) => errs.push(e) });
    expect(errs.join("\n")).to.equal("");
    return { code, report: JSON.parse(fs.readFileSync(out, "utf8")) as AuditReport };
  }

  it("passes on the untouched ledger", async () => {
    const r = await audit();
    expect(r.code).to.equal(EXIT_VALID);
    expect(r.report.source.kind).to.equal("postgres");
    expect(r.report.heads).to.include({ count: 4, verified: 4 });
    expect(r.report.escrows).to.deep.equal({ holds: 3, released: 1, refunded: 1, open: 1 });
  });

  it("an event changed and re-hashed with raw SQL: names event 10 and head 1", async () => {
    const c = new pg.Client({ connectionString: ctx.url });
    await c.connect();
    try {
      await c.query("DROP TRIGGER ledger_events_append_only ON ledger_events");
      const leaf = Buffer.from(
        (await c.query("SELECT leaf FROM ledger_events WHERE sequence = 10")).rows[0].leaf,
      );
      leaf.writeBigUInt64BE(15_000n, 312);
      const hash = createHash("sha256")
        .update(Buffer.concat([Buffer.from([0]), leaf]))
        .digest();
      await c.query("UPDATE ledger_events SET leaf = $1, leaf_hash = $2 WHERE sequence = 10", [leaf, hash]);
    } finally {
      await c.end();
    }
    const r = await audit();
    expect(r.code).to.equal(EXIT_INVALID);
    expect(r.report.firstBadIndex).to.equal(10);
    expect(r.report.firstBadHead).to.equal(1);
    expect(r.report.findings.find((f) => f.check === "head_root")).to.include({ headIndex: 1, index: 10 });
  });
});
