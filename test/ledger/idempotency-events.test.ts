import { expect } from "chai";
import fs from "node:fs";
import { TransferEventExistsError } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { type Backend, openTestLedger, rawExec, rejects, tempSqliteUrl, uniquePrefix } from "./support";

/**
 * Idempotency is decided by the event log, not by the derived `ledger_transfers` row: with the row
 * deleted (append-only trigger dropped, as an insider could), a retry of the same transfer is
 * refused with a named error and changes nothing.
 */
function deletedRowRetrySuite(backend: Backend) {
  it(`a retried transfer whose row was deleted is refused, not applied twice (${backend.name})`, async () => {
    const { ledger, db, close } = await openTestLedger(backend);
    try {
      const p = uniquePrefix();
      await ledger.openAccount({ id: `${p}bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
      await ledger.openAccount({ id: `${p}alice`, type: "customer", asset: "EUR", scale: 2 });
      const t = {
        id: `${p}dep`,
        debitAccountId: `${p}bank`,
        creditAccountId: `${p}alice`,
        amount: 500n,
        kind: "deposit" as const,
      };
      await ledger.transfer(t);
      if (backend.name === "sqlite") {
        await rawExec(db, "DROP TRIGGER ledger_transfers_no_delete");
        await rawExec(db, `DELETE FROM ledger_transfers WHERE id = '${t.id}'`);
      } else {
        await rawExec(db, "ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only");
        await rawExec(db, `DELETE FROM ledger_transfers WHERE id = '${t.id}'`);
      }
      const events = await ledger.eventCount();
      const balance = (await ledger.getBalance(`${p}alice`)).posted;
      await rejects(ledger.transfer(t), TransferEventExistsError);
      await rejects(ledger.transferBatch([t]), TransferEventExistsError);
      expect(await ledger.eventCount()).to.equal(events);
      expect((await ledger.getBalance(`${p}alice`)).posted).to.equal(balance);
      expect(balance).to.equal(500n);
    } finally {
      await close();
    }
  });
}

describe("ledger: idempotency by the events (sqlite)", () => {
  let dir = "";
  let url = "";
  before(() => ({ url, dir } = tempSqliteUrl()));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  deletedRowRetrySuite({ name: "sqlite", url: () => url });
});

describeWithPg("ledger: idempotency by the events (postgres)", (ctx) => {
  deletedRowRetrySuite({ name: "postgres", url: () => ctx.url });
});
