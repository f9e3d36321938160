import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger, type Ledger } from "../../src/ledger";
import {
  checkPseudonyms,
  ensurePseudonymKey,
  PseudonymKeyInvalidError,
  PseudonymKeyMismatchError,
  parsePseudonymKey,
  pseudonymKeyFingerprint,
  pseudonymKeyMigrations,
} from "../../src/ledger/pseudonym-key";
import { describeWithPg } from "../support/pg";
import { rejects, tempSqliteUrl } from "./support";

async function workload(ledger: Ledger, prefix: string) {
  await ledger.transfer({
    id: `${prefix}-dep`,
    debitAccountId: "bank",
    creditAccountId: "alice",
    amount: 1000n,
    kind: "deposit",
  });
  await ledger.createHold({
    id: `${prefix}-h1`,
    debitAccountId: "alice",
    creditAccountId: "bob",
    amount: 10n,
    kind: "transfer",
  });
  await ledger.postHold(`${prefix}-h1`, { source: "api" } as never).catch(async () => {
    await ledger.voidHold(`${prefix}-h1`, { source: "timeout" });
  });
}

function behaviour(url: () => string) {
  it("records the key's fingerprint once and refuses any other key", async () => {
    const db = openDatabase(url());
    try {
      const key = randomBytes(32);
      const ledger = await openLedger(db, { pseudonymKey: key });
      await migrate(db, pseudonymKeyMigrations);
      expect(await ensurePseudonymKey(db, key)).to.equal(pseudonymKeyFingerprint(key));
      expect(await ensurePseudonymKey(db, key), "same key again").to.equal(pseudonymKeyFingerprint(key));
      const other = randomBytes(32);
      const e = await rejects(ensurePseudonymKey(db, other), PseudonymKeyMismatchError);
      expect(e.expectedFingerprint).to.equal(pseudonymKeyFingerprint(key));
      expect(e.foundFingerprint).to.equal(pseudonymKeyFingerprint(other));
      expect(e.message).to.not.contain(Buffer.from(other).toString("hex"));
      await ledger.close();
    } finally {
      await closeDatabase(db);
    }
  });

  it("the audit check names the first pseudonym a second key wrote, and passes a ledger of one key", async () => {
    const db = openDatabase(url());
    try {
      const key = randomBytes(32);
      const a = await openLedger(db, { pseudonymKey: key });
      for (const [id, type] of [
        ["bank", "bank_mirror"],
        ["alice", "customer"],
        ["bob", "customer"],
      ] as const)
        await a.openAccount({ id, type, asset: "EUR", scale: 2 });
      await workload(a, "a");
      const clean = await checkPseudonyms(db, key);
      expect(clean.mismatches).to.deep.equal([]);
      // 3 accounts; 3 account events; every later event: entry id + two accounts.
      expect(clean.checked).to.be.greaterThan(3 + 3);
      const events = await a.eventCount();

      // A second process that made up its own key (the bug this check exists for).
      const b = await openLedger(db, { pseudonymKey: randomBytes(32) });
      await b.transfer({
        id: "b-1",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: 1n,
        kind: "transfer",
      });
      const r = await checkPseudonyms(db, key);
      expect(r.mismatches.length).to.be.greaterThan(0);
      expect(r.mismatches[0]).to.include({ where: "event", sequence: events, field: "entryId", id: "b-1" });
      await a.close();
      await b.close();
    } finally {
      await closeDatabase(db);
    }
  });
}

describe("ledger: pseudonym key fingerprint (sqlite)", function () {
  let t: { url: string; dir: string };
  beforeEach(() => (t = tempSqliteUrl()));
  afterEach(() => fs.rmSync(t.dir, { recursive: true, force: true }));
  behaviour(() => t.url);

  it("an old ledger without a fingerprint accepts only a key that reproduces its pseudonyms", async () => {
    const db = openDatabase(t.url);
    try {
      const key = randomBytes(32);
      const ledger = await openLedger(db, { pseudonymKey: key });
      await ledger.openAccount({ id: "alice", type: "customer", asset: "EUR", scale: 2 });
      await migrate(db, pseudonymKeyMigrations);
      await rejects(ensurePseudonymKey(db, randomBytes(32)), PseudonymKeyMismatchError);
      expect(await ensurePseudonymKey(db, key)).to.equal(pseudonymKeyFingerprint(key));
      await ledger.close();
    } finally {
      await closeDatabase(db);
    }
  });

  it("parses hex keys and names a malformed one without echoing it", () => {
    expect(Buffer.from(parsePseudonymKey(`0x${"ab".repeat(32)}\n`, "$K"))).to.deep.equal(
      Buffer.alloc(32, 0xab),
    );
    const e = (() => {
      try {
        parsePseudonymKey("zz" + "ab".repeat(32), "$K");
      } catch (err) {
        return err;
      }
    })();
    expect(e).to.be.instanceOf(PseudonymKeyInvalidError);
    expect(String(e)).to.not.contain("abab");
  });
});

describeWithPg("ledger: pseudonym key fingerprint (postgres)", (ctx) => {
  behaviour(() => ctx.url);
});
