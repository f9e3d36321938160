import { expect } from "chai";
import { createHash } from "node:crypto";
import type { Database } from "../../src/db/database";
import { InsufficientFundsError, type Ledger, type Transfer, UnknownTransferError } from "../../src/ledger";
import { decodeLeaf } from "../../src/protocol/leaf-v1";
import { describeWithPg, recordPgStatements } from "../support/pg";
import { openTestLedger, rejects, uniquePrefix } from "./support";

/**
 * PostgreSQL writes a group that only moves money with one call of `ledger_commit_transfers` sent
 * with its COMMIT (src/ledger/postgres-store.ts): the server numbers the events, writes each
 * sequence into its leaf and hashes it. These check what the client no longer computes. A group
 * whose accounts come from the account cache sends `ledger_commit_transfers_checked` alone, as its
 * own transaction (checked-account-cache.postgres.test.ts tests the checks).
 */
/** Each answer's row, event and leaf agree: sequences contiguous, leaf sequence filled, hash = SHA-256(0x00 ‖ leaf). */
async function storedAsAnswered(ledger: Ledger, db: Database, answers: Transfer[]): Promise<void> {
  for (const t of answers) {
    const stored = await ledger.getTransfer(t.id);
    expect(stored!.sequence).to.equal(t.sequence);
    expect(stored!.amount).to.equal(t.amount);
  }
  const sequences = answers.map((t) => t.sequence).sort((x, y) => x - y);
  const first = sequences[0];
  expect(sequences).to.deep.equal(sequences.map((_, i) => first + i));
  if (db.kind !== "postgres") throw new Error("postgres expected");
  const { rows } = await db.pool.query(
    "SELECT sequence, subject_id, leaf, leaf_hash FROM ledger_events WHERE sequence >= $1 ORDER BY sequence",
    [first],
  );
  expect(rows.length).to.equal(answers.length);
  const byId = new Map(answers.map((t) => [t.id, t]));
  for (const r of rows) {
    const leaf = decodeLeaf(new Uint8Array(r.leaf as Buffer));
    expect(leaf.sequence).to.equal(Number(r.sequence));
    expect(leaf.eventType).to.equal("TRANSFER_POSTED");
    expect(leaf.timestamp).to.equal(byId.get(r.subject_id as string)!.createdAt);
    expect(leaf.amount).to.equal(byId.get(r.subject_id as string)!.amount);
    const hash = createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), r.leaf as Buffer]))
      .digest();
    expect(Buffer.compare(hash, r.leaf_hash as Buffer)).to.equal(0);
  }
}

// Text that an SQL or array literal must escape, and some that it must not mangle.
const NOTES = [`it's`, `"quoted"`, `back\\slash`, `{a,b}`, `NULL`, `ünïcödé €`, `''\\\\"`, ""];

describeWithPg("ledger: transfers committed in one round trip (postgres)", (ctx) => {
  const record = recordPgStatements();

  it("numbers, fills and hashes leaves on the server; rows, answers and leaves agree", async () => {
    const { ledger, db, close } = await openTestLedger({ name: "postgres", url: () => ctx.url });
    try {
      const p = uniquePrefix();
      await ledger.openAccount({ id: `${p}-bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
      for (const c of ["a", "b", "c"])
        await ledger.openAccount({ id: `${p}-${c}`, type: "customer", asset: "EUR", scale: 2 });
      await ledger.transfer({
        id: `${p}-seed`,
        debitAccountId: `${p}-bank`,
        creditAccountId: `${p}-a`,
        amount: 1_000_000n,
        kind: "deposit",
      });
      const notes = NOTES;
      const { value: answers, sent } = await record(() =>
        Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            ledger.transfer({
              id: `${p}-t${i}`,
              debitAccountId: `${p}-a`,
              creditAccountId: i % 2 ? `${p}-b` : `${p}-c`,
              amount: BigInt(1 + i),
              kind: "transfer",
              metadata: { note: notes[i % notes.length], i },
            }),
          ),
        ),
      );
      const locked = sent.filter((s) => s.includes("ledger_commit_transfers("));
      const checked = sent.filter((s) => s.includes("ledger_commit_transfers_checked("));
      // The first group finds its accounts cached; a group started while another holds account
      // a locks and loads it instead.
      expect(checked.length).to.be.greaterThan(0);
      // A locked group: its lock-and-load, then the call with its COMMIT. A checked group: the
      // call alone, which commits by itself. Nothing else.
      expect(sent.length).to.equal(2 * locked.length + checked.length);
      for (const c of locked) expect(c.trimEnd().endsWith("COMMIT")).to.equal(true);
      for (const c of checked) expect(c).not.to.match(/BEGIN|COMMIT/);
      // Alone, the checked call binds its arguments (a named statement: the server parses no literals).
      for (const c of checked) expect(c).to.include("$1::text[]");
      for (const c of locked) expect(c).to.include("E'{");

      for (const [i, t] of answers.entries())
        expect((await ledger.getTransfer(t.id))!.metadata).to.deep.equal({
          note: notes[i % notes.length],
          i,
        });
      await storedAsAnswered(ledger, db, answers);
      const report = await ledger.checkInvariants();
      expect(report.ok, JSON.stringify(report.violations ?? report)).to.equal(true);
    } finally {
      await close();
    }
  });

  for (const { cache, fn, leavesParam } of [
    { cache: true, fn: "ledger_append_transfers(", leavesParam: "$16::bytea" },
    { cache: false, fn: "ledger_commit_transfers(", leavesParam: "$23::bytea" },
  ])
    it(`a batch above the inline limit binds its arguments (${cache ? "cached accounts: the checked update, then the append" : "locked accounts: COMMIT follows"}): the same rows and leaves`, async () => {
      const { ledger, db, close } = await openTestLedger(
        { name: "postgres", url: () => ctx.url },
        cache ? {} : { postgresGroups: { accountCacheSize: 0 } },
      );
      try {
        const p = uniquePrefix();
        await ledger.openAccount({ id: `${p}-bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
        for (let i = 0; i < 20; i++)
          await ledger.openAccount({ id: `${p}-c${i}`, type: "customer", asset: "EUR", scale: 2 });
        const { value: answers, sent } = await record(() =>
          ledger.transferBatch(
            Array.from({ length: 600 }, (_, i) => ({
              id: `${p}-b${i}`,
              debitAccountId: `${p}-bank`,
              creditAccountId: `${p}-c${i % 20}`,
              amount: BigInt(1 + i),
              kind: "deposit" as const,
              metadata: { note: `${NOTES[i % NOTES.length]} #${i}` },
            })),
          ),
        );
        const call = sent.filter((s) => s.includes(fn));
        expect(call).to.have.length(1);
        expect(call[0]).to.include(leavesParam);
        if (cache) {
          expect(sent).to.have.length(4);
          expect(sent[1]).to.match(/^SELECT ledger_update_accounts_checked\(\$1::text\[\]/);
          expect([sent[0], sent[2], sent[3]]).to.deep.equal(["BEGIN", call[0], "COMMIT"]);
        } else {
          expect(sent[0]).to.match(/^BEGIN; SELECT a\.ctid/);
          expect(sent.slice(1)).to.deep.equal([call[0], "COMMIT"]);
        }
        await storedAsAnswered(ledger, db, answers);
        for (let i = 0; i < NOTES.length; i++)
          expect((await ledger.getTransfer(`${p}-b${i}`))!.metadata).to.deep.equal({
            note: `${NOTES[i]} #${i}`,
          });
        expect((await ledger.getBalance(`${p}-c3`)).posted).to.equal(
          Array.from({ length: 30 }, (_, k) => BigInt(1 + 3 + 20 * k)).reduce((x, y) => x + y, 0n),
        );
        const report = await ledger.checkInvariants();
        expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
      } finally {
        await close();
      }
    });

  it("a refused transfer among them is refused alone, and nothing of it is written", async () => {
    const { ledger, close } = await openTestLedger({ name: "postgres", url: () => ctx.url });
    try {
      const p = uniquePrefix();
      await ledger.openAccount({ id: `${p}-bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
      await ledger.openAccount({ id: `${p}-a`, type: "customer", asset: "EUR", scale: 2 });
      await ledger.openAccount({ id: `${p}-b`, type: "customer", asset: "EUR", scale: 2 });
      await ledger.transfer({
        id: `${p}-seed`,
        debitAccountId: `${p}-bank`,
        creditAccountId: `${p}-a`,
        amount: 100n,
        kind: "deposit",
      });
      const before = await ledger.eventCount();
      const results = await Promise.allSettled([
        ledger.transfer({
          id: `${p}-ok1`,
          debitAccountId: `${p}-a`,
          creditAccountId: `${p}-b`,
          amount: 10n,
          kind: "transfer",
        }),
        ledger.transfer({
          id: `${p}-bad`,
          debitAccountId: `${p}-a`,
          creditAccountId: `${p}-b`,
          amount: 1_000n,
          kind: "transfer",
        }),
        ledger.transfer({
          id: `${p}-ok2`,
          debitAccountId: `${p}-a`,
          creditAccountId: `${p}-b`,
          amount: 20n,
          kind: "transfer",
        }),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(InsufficientFundsError);
      expect(await ledger.eventCount()).to.equal(before + 2);
      await rejects(ledger.getTransfer(`${p}-bad`), UnknownTransferError);
      expect((await ledger.getBalance(`${p}-b`)).posted).to.equal(30n);
    } finally {
      await close();
    }
  });

  it("refuses, with its own SQLSTATE and nothing written, a balance row that is not where it was locked", async () => {
    const { ledger, db, close } = await openTestLedger({ name: "postgres", url: () => ctx.url });
    try {
      if (db.kind !== "postgres") throw new Error("postgres expected");
      const next = async () =>
        Number((await db.pool.query("SELECT next_sequence FROM ledger_log_state")).rows[0].next_sequence);
      const before = await next();
      const client = await db.pool.connect();
      try {
        await client.query("BEGIN");
        const err = await client
          .query(
            `SELECT ledger_commit_transfers('{"(999999,1)"}', '{nobody}', '{active}', '{0}', '{0}', '{0}', '{0}',
               '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', ''::bytea)`,
          )
          .then(
            () => undefined,
            (e: unknown) => e as { code?: string },
          );
        expect(err?.code).to.equal("LG001");
      } finally {
        await client.query("ROLLBACK");
        client.release();
      }
      expect(await next()).to.equal(before);
    } finally {
      await close();
    }
  });
});
