/**
 * npm run bench:ledger-fixed -- --prepare DB [--fill N]
 * npm run bench:ledger-fixed -- --db DB --case batched-100 [--transfers N]
 *
 * A fixed amount of SQLite ledger work, for instruction counts (`valgrind --tool=callgrind`) and
 * CPU profiles (`node --cpu-prof`), which stay repeatable on a loaded machine where transfers/s do
 * not. `--prepare` builds a ledger once (10 000 funded customer accounts, then `--fill` events,
 * default 100 000, in batches of 8 000); each measured run works on a copy of that file, so the
 * workload is the same from run to run. Cases (the same shapes as bench:ledger):
 *  - `batched-100`, `batched-1000`, `batched-8000`: transferBatch of that size;
 *  - `single-x16`: single transfers from 16 concurrent callers (group commit);
 *  - `single-x1`: single transfers one after another;
 *  - `invariants`: one checkInvariants over the whole ledger (`--transfers` ignored).
 * Before the measured work, `--warm` transfers (default 10 000, batches of 1 000) warm the account
 * cache as a long-running writer has it. `--transfers 0` opens the ledger, warms it and does
 * nothing else: subtract its count from a run's to get the cost of the work alone. Prints the wall time, the process CPU time and the rate.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase } from "../src/db/database";
import { openLedger } from "../src/ledger";
import { nextTransfers, rng, seedAccounts } from "./support/ledger-workload";

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const KEY = new Uint8Array(32).fill(7);

async function prepare(file: string, fill: number): Promise<void> {
  const db = openDatabase(file);
  const ledger = await openLedger(db, { pseudonymKey: KEY });
  await seedAccounts(ledger);
  const rnd = rng(99);
  for (let have = await ledger.eventCount(); have < fill; have = await ledger.eventCount())
    await ledger.transferBatch(nextTransfers("f", Math.min(8000, fill - have), rnd));
  await closeDatabase(db);
  console.log(`prepared ${file}: ${fill} events`);
}

async function run(source: string, name: string, total: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-ledger-fixed-"));
  try {
    const file = join(dir, "ledger.db");
    copyFileSync(source, file);
    const db = openDatabase(file);
    const ledger = await openLedger(db, { pseudonymKey: KEY });
    const rnd = rng(12345);
    const warm = Number(arg("warm", "10000"));
    for (let done = 0; done < warm; done += 1000)
      await ledger.transferBatch(nextTransfers("v", Math.min(1000, warm - done), rnd));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let work = total;
    if (name === "invariants") {
      const r = await ledger.checkInvariants();
      if (!r.ok) throw new Error("invariants broken");
      work = r.events;
    } else if (total > 0) {
      const m = /^(batched|single)-x?(\d+)$/.exec(name);
      if (!m) throw new Error(`unknown case ${name}`);
      const [batch, callers] = m[1] === "batched" ? [Number(m[2]), 1] : [1, Number(m[2])];
      let done = 0;
      const worker = async () => {
        while (done < total) {
          const n = Math.min(batch, total - done);
          done += n;
          const ts = nextTransfers("w", n, rnd);
          if (batch === 1) await ledger.transfer(ts[0]);
          else await ledger.transferBatch(ts);
        }
      };
      await Promise.all(Array.from({ length: callers }, worker));
    }
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      JSON.stringify({
        case: name,
        work,
        seconds: +s.toFixed(3),
        cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(3),
        perSec: s > 0 ? Math.round(work / s) : 0,
      }),
    );
    await closeDatabase(db);
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

(async () => {
  const prep = arg("prepare");
  if (prep) return prepare(prep, Number(arg("fill", "100000")));
  const db = arg("db");
  if (!db) throw new Error("--db FILE (made by --prepare) is required");
  await run(db, arg("case", "batched-100")!, Number(arg("transfers", "20000")));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
