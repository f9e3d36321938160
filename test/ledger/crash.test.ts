import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { describeWithPg } from "../support/pg";
import { KEY, tempSqliteUrl } from "./support";

const CHILD = path.join(__dirname, "fixtures", "crash-child.ts");
const BATCH = 2000;

/** Starts the writer, waits until it is inside batch `k` (having committed batch k-1), kills it. */
function runAndKill(url: string, killInBatch: number): Promise<{ begun: number; done: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, String(BATCH)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let begun = -1;
    let done = -1;
    let stderr = "";
    let buf = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const [what, k] = buf.slice(0, nl).split(" ");
        buf = buf.slice(nl + 1);
        if (what === "begin") begun = Number(k);
        if (what === "done") done = Number(k);
        if (what === "begin" && Number(k) === killInBatch) {
          // A few ms into the batch: the transaction is open and partly written.
          setTimeout(() => child.kill("SIGKILL"), 2 + Math.random() * 10);
        }
      }
    });
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`writer exited with ${code}: ${stderr}`));
      else resolve({ begun, done });
    });
  });
}

function crashSuite(url: () => string) {
  it("a writer killed in the middle of a batch leaves each batch all or nothing", async function () {
    const db = openDatabase(url());
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
    for (let i = 0; i < 10; i++)
      await ledger.openAccount({ id: `cust-${i}`, type: "customer", asset: "EUR", scale: 2 });
    try {
      const { begun, done } = await runAndKill(url(), 2);
      expect(begun).to.be.at.least(2);
      expect(done).to.be.at.least(1);
      // The kill landed while batch `begun` was in flight (its commit was never acknowledged).
      expect(done).to.equal(begun - 1);
      for (let k = 0; k <= begun; k++) {
        let present = 0;
        for (const i of [0, BATCH / 2, BATCH - 1]) {
          try {
            await ledger.getTransfer(`c${k}-${i}`);
            present++;
          } catch {
            /* absent */
          }
        }
        expect([0, 3], `batch ${k}`).to.include(present);
        if (k <= done) expect(present, `committed batch ${k}`).to.equal(3);
      }
      const report = await ledger.checkInvariants();
      expect(report.violations).to.deep.equal([]);
      expect(report.transfers % BATCH).to.equal(0);
      expect(report.events).to.equal(11 + report.transfers);
      // The ledger keeps working after the crash.
      await ledger.transfer({
        id: "after",
        debitAccountId: "bank",
        creditAccountId: "cust-0",
        amount: 1n,
        kind: "deposit",
      });
      expect((await ledger.checkInvariants()).ok).to.equal(true);
    } finally {
      await ledger.close();
      await closeDatabase(db);
    }
  });
}

describe("ledger crash safety (sqlite)", () => {
  const { url } = tempSqliteUrl();
  crashSuite(() => url);
});

describeWithPg("ledger crash safety (postgres)", (ctx) => {
  crashSuite(() => ctx.url);
});
