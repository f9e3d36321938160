import { expect } from "chai";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";

/** The API serves nothing the events contradict: an edited row answers 500, never the edited value. */
describe("API: transfer and account rows are served only as their events made them", function () {
  this.timeout(120_000);
  let s: ApiStack;
  before(async () => {
    s = await startApiStack();
    await seedLedger(s);
    await s.anchor();
  });
  after(async () => s?.stop());

  const sql = (q: string) => {
    if (s.db.kind !== "sqlite") throw new Error("the API stack runs on SQLite");
    s.db.sqlite.exec(q);
  };

  it("a transfer's amount edited in the table: the transfer and its receipt answer 500, not the new amount", async () => {
    const key = s.keys.platform;
    expect((await s.call("GET", "/v1/transfers/dep-alice", { key })).body.amount).to.equal("100000");
    expect((await s.call("GET", "/v1/transfers/dep-alice/receipt", { key })).status).to.equal(200);
    sql("DROP TRIGGER ledger_transfers_no_update");
    sql("UPDATE ledger_transfers SET amount = '900000' WHERE id = 'dep-alice'");
    for (const path of ["/v1/transfers/dep-alice", "/v1/transfers/dep-alice/receipt"]) {
      const r = await s.call("GET", path, { key });
      expect(r.status, path).to.equal(500);
      expect(r.body.error.code, path).to.equal("INVARIANT_VIOLATED");
      expect(JSON.stringify(r.body), path).not.to.contain("900000");
    }
    // Another transfer still serves.
    expect((await s.call("GET", "/v1/transfers/dep-bob", { key })).status).to.equal(200);
  });

  it("an account's status edited in the table: the account answers 500", async () => {
    const key = s.keys.platform;
    expect((await s.call("GET", "/v1/accounts/carol", { key })).body.status).to.equal("active");
    sql("UPDATE ledger_account_terms SET status = 'frozen' WHERE id = 'carol'");
    const r = await s.call("GET", "/v1/accounts/carol", { key });
    expect(r.status).to.equal(500);
    expect(r.body.error.code).to.equal("INVARIANT_VIOLATED");
  });
});
