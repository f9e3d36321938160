import { expect } from "chai";
import fs from "node:fs";
import { DerivedRowMismatchError } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { type Backend, openTestLedger, rawExec, rejects, tempSqliteUrl, uniquePrefix } from "./support";

/**
 * A transfer or account row edited outside the ledger is not served: the ledger checks the row
 * against the event it was made from and refuses with DerivedRowMismatchError naming the column.
 */
function servedRowsSuite(backend: Backend) {
  const accountsTable = backend.name === "sqlite" ? "ledger_account_terms" : "ledger_accounts";
  const dropTriggers =
    backend.name === "sqlite"
      ? "DROP TRIGGER IF EXISTS ledger_transfers_no_update"
      : "ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only";

  for (const [what, column, edit] of [
    ["amount", "amount", (p: string) => `UPDATE ledger_transfers SET amount = 9999 WHERE id = '${p}t'`],
    [
      "credit account",
      "credit_account_id",
      (p: string) => `UPDATE ledger_transfers SET credit_account_id = '${p}bank' WHERE id = '${p}t'`,
    ],
    ["kind", "kind", (p: string) => `UPDATE ledger_transfers SET kind = 'withdrawal' WHERE id = '${p}t'`],
  ] as const)
    it(`a transfer whose ${what} was edited is refused, naming ${column} (${backend.name})`, async () => {
      const { ledger, db, close } = await openTestLedger(backend);
      try {
        const p = uniquePrefix();
        await ledger.openAccount({ id: `${p}bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
        await ledger.openAccount({ id: `${p}alice`, type: "customer", asset: "EUR", scale: 2 });
        await ledger.transfer({
          id: `${p}t`,
          debitAccountId: `${p}bank`,
          creditAccountId: `${p}alice`,
          amount: 500n,
          kind: "deposit",
          metadata: { memo: "x" },
        });
        expect((await ledger.getTransfer(`${p}t`)).amount).to.equal(500n);
        await rawExec(db, dropTriggers);
        await rawExec(db, edit(p));
        const e = await rejects(ledger.getTransfer(`${p}t`), DerivedRowMismatchError);
        expect(e).to.include({ table: "ledger_transfers", key: `${p}t`, column, code: "INVARIANT_VIOLATED" });
      } finally {
        await close();
      }
    });

  for (const [column, value] of [
    ["type", "platform_own"],
    ["status", "frozen"],
  ] as const)
    it(`an account whose ${column} was edited is refused (${backend.name})`, async () => {
      const { ledger, db, close } = await openTestLedger(backend);
      try {
        const p = uniquePrefix();
        await ledger.openAccount({ id: `${p}alice`, type: "customer", asset: "EUR", scale: 2 });
        await ledger.setAccountStatus(`${p}alice`, "frozen");
        await ledger.setAccountStatus(`${p}alice`, "active");
        expect((await ledger.getAccount(`${p}alice`)).status).to.equal("active");
        await rawExec(db, `UPDATE ${accountsTable} SET ${column} = '${value}' WHERE id = '${p}alice'`);
        const e = await rejects(ledger.getAccount(`${p}alice`), DerivedRowMismatchError);
        expect(e).to.include({ table: "ledger_accounts", key: `${p}alice`, column });
      } finally {
        await close();
      }
    });

  for (const [column, edit] of [
    ["status", "status = 'voided'"],
    ["amount", "amount = 7"],
    ["payee_account_id, expires_at, metadata, fee", "expires_at = expires_at + 1"],
  ] as const)
    it(`a hold whose ${column} was edited is refused (${backend.name})`, async () => {
      const { ledger, db, close } = await openTestLedger(backend);
      try {
        const p = uniquePrefix();
        await ledger.openAccount({ id: `${p}bank`, type: "bank_mirror", asset: "EUR", scale: 2 });
        await ledger.openAccount({ id: `${p}alice`, type: "customer", asset: "EUR", scale: 2 });
        await ledger.openAccount({ id: `${p}bob`, type: "customer", asset: "EUR", scale: 2 });
        await ledger.transfer({
          id: `${p}d`,
          debitAccountId: `${p}bank`,
          creditAccountId: `${p}alice`,
          amount: 500n,
          kind: "deposit",
        });
        await ledger.createHold({
          id: `${p}h`,
          debitAccountId: `${p}alice`,
          creditAccountId: `${p}bob`,
          amount: 50n,
          kind: "transfer",
          timeoutMs: 60_000,
        });
        await ledger.postHold(`${p}h`, { source: "api" });
        expect((await ledger.getHold(`${p}h`)).status).to.equal("posted");
        await rawExec(db, `UPDATE ledger_holds SET ${edit} WHERE id = '${p}h'`);
        const e = await rejects(ledger.getHold(`${p}h`), DerivedRowMismatchError);
        expect(e).to.include({ table: "ledger_holds", key: `${p}h`, column });
      } finally {
        await close();
      }
    });
}

describe("ledger: rows served only as their events made them (sqlite)", () => {
  let dir = "";
  let url = "";
  before(() => ({ url, dir } = tempSqliteUrl()));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  servedRowsSuite({ name: "sqlite", url: () => url });
});

describeWithPg("ledger: rows served only as their events made them (postgres)", (ctx) => {
  servedRowsSuite({ name: "postgres", url: () => ctx.url });
});
