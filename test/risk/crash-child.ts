/**
 * Child process for the kill -9 test: commits transfers to a SQLite ledger and runs the rules
 * engine on them. With RISK_CRASH_AT_BATCH=k it SIGKILLs itself after evaluating its k-th batch and
 * before committing it (the ledger's events are committed, the engine's outcome is not).
 * Otherwise it runs until the parent kills it. Prints "batch <n> <cursor>" after each commit.
 */
import { openDatabase } from "../../src/db/database";
import { openLedger } from "../../src/ledger";
import { RiskEngine } from "../../src/risk/engine";
import { CRASH_RULES } from "./crash-rules";
import { KEY, openAccounts } from "./fixture";

async function main() {
  const [url, seedText, countText] = process.argv.slice(2);
  const db = openDatabase(url);
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  if ((await ledger.eventCount()) === 0) await openAccounts(ledger);
  const crashAt = Number(process.env.RISK_CRASH_AT_BATCH ?? 0);
  let batches = 0;
  const engine = await RiskEngine.open(db, ledger, ledger, {
    rules: CRASH_RULES,
    batchSize: 7,
    beforeCommit: () => {
      if (++batches === crashAt) process.kill(process.pid, "SIGKILL");
    },
  });
  let seed = Number(seedText);
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
  const customers = ["alice", "bob", "acme"];
  for (let i = 0; i < Number(countText); i++) {
    const to = customers[Math.floor(rnd() * 3)];
    const amount = BigInt(1 + Math.floor(rnd() * 20_000));
    const id = `crash-${seedText}-${i}`;
    if (rnd() < 0.6)
      await ledger.transfer({
        id,
        debitAccountId: "cash-desk",
        creditAccountId: to,
        amount,
        kind: "deposit",
      });
    else {
      const from = customers[Math.floor(rnd() * 3)];
      const abroad = rnd() < 0.3;
      const bal = (await ledger.getBalance(from)).available;
      if (bal > 0n && (abroad || from !== to))
        await ledger.transfer({
          id,
          debitAccountId: from,
          creditAccountId: abroad ? "swift" : to,
          amount: bal < amount ? bal : amount,
          kind: abroad ? "withdrawal" : "transfer",
        });
    }
    if (i % 5 === 4) {
      await engine.runOnce();
      process.stdout.write(`batch ${batches} ${engine.cursor}\n`);
    }
  }
  await engine.drain();
  process.stdout.write("done\n");
  process.exit(0);
}
void main();
