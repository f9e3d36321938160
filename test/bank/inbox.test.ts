import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { openCustodianBank } from "../../src/bank/bank";
import { watchStatementInbox } from "../../src/bank/inbox";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";

describe("bank: the watched statement inbox", () => {
  it("imports dropped files, moves them to processed/, and sets rejected ones aside with the reason", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-inbox-"));
    const db = openDatabase(path.join(dir, "ledger.db"));
    const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(3) });
    try {
      await ledger.openAccount({
        id: "bank-eur",
        type: "bank_mirror",
        asset: "EUR",
        scale: 2,
        metadata: { bankAccount: "DE89370400440532013000" },
      });
      const bank = await openCustodianBank({ db, ledger });
      const inbox = path.join(dir, "inbox");
      const w = watchStatementInbox(bank, inbox, { intervalMs: 60_000 });
      const fixture = fs.readFileSync(path.join(__dirname, "fixtures", "statement-v1-eur.json"));
      fs.writeFileSync(path.join(inbox, "a.json"), fixture);
      fs.writeFileSync(path.join(inbox, "b.xml"), "<Document>not camt</Document>");
      const done = await w.scan();
      await w.stop();
      expect(
        done.map((d) => [d.file, d.result?.statements[0].statementId ?? d.error?.split(":")[0]]),
      ).to.deep.equal([
        ["a.json", "EUR-20261201"],
        ["b.xml", "Document/@xmlns"],
      ]);
      expect(fs.readdirSync(inbox).filter((f) => !["processed", "rejected"].includes(f))).to.deep.equal([]);
      expect(fs.readdirSync(path.join(inbox, "processed"))).to.deep.equal(["a.json"]);
      expect(fs.readdirSync(path.join(inbox, "rejected")).sort()).to.deep.equal(["b.xml", "b.xml.error.txt"]);
      expect(fs.readFileSync(path.join(inbox, "rejected", "b.xml.error.txt"), "utf8")).to.contain(
        "unsupported message",
      );
    } finally {
      await ledger.close();
      await closeDatabase(db);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
