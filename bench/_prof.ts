import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase } from "../src/db/database";
import { type TransferInput, openLedger } from "../src/ledger";
const ACCOUNTS = 10_000;
let seq = 0;
function rng(seed: number) { let s = seed >>> 0; return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32); }
function nextTransfers(n: number, rnd: () => number): TransferInput[] {
  const out: TransferInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ACCOUNTS); let b = Math.floor(rnd() * (ACCOUNTS - 1)); if (b >= a) b++;
    out[i] = { id: `t${(seq++).toString().padStart(12, "0")}`, debitAccountId: `c${a}`, creditAccountId: `c${b}`, amount: 1n + BigInt(i % 50), kind: "transfer" };
  }
  return out;
}
(async () => {
  const dir = mkdtempSync(join(process.env.PROF_DIR ?? tmpdir(), "prof-"));
  const db = openDatabase(join(dir, "l.db"));
  const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(7) });
  for (const p of (process.env.PRAGMAS ?? "").split(";").filter(Boolean)) db.kind === "sqlite" && db.sqlite.pragma(p);
  await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
  for (let i = 0; i < ACCOUNTS; i++) await ledger.openAccount({ id: `c${i}`, type: "customer", asset: "EUR", scale: 2 });
  await ledger.transferBatch(Array.from({ length: ACCOUNTS }, (_, k) => ({ id: `f${k}`, debitAccountId: "bank", creditAccountId: `c${k}`, amount: 10n ** 15n, kind: "deposit" as const })));
  const rnd = rng(1);
  const fill = Number(process.env.FILL ?? 200000);
  for (let i = 0; i < fill; i += 8000) await ledger.transferBatch(nextTransfers(8000, rnd));
  const N = Number(process.env.N ?? 50); for (const k of Object.keys((globalThis as any).PH)) delete (globalThis as any).PH[k];
  const times: number[] = [];
  const t0 = performance.now(); const cu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) { const ts = nextTransfers(8000, rnd); const a = performance.now(); await ledger.transferBatch(ts); times.push(performance.now() - a); }
  const total = performance.now() - t0; const cu = process.cpuUsage(cu0);
  const s = [...times].sort((a, b) => a - b);
  console.log(`cpu/batch ${((cu.user + cu.system) / 1000 / N).toFixed(0)} ms (user ${(cu.user / 1000 / N).toFixed(0)})  rate ${Math.round((N * 8000) / (total / 1000))}/s  batch ms: min ${s[0].toFixed(0)} p50 ${s[N >> 1].toFixed(0)} p90 ${s[Math.floor(N * 0.9)].toFixed(0)} max ${s[N - 1].toFixed(0)}`);
  if (process.env.SHOW) console.log(times.map((t) => t.toFixed(0)).join(" "));
  await closeDatabase(db); rmSync(dir, { recursive: true, force: true });
})();
process.on("exit", () => { const PH = (globalThis as any).PH; console.log(Object.entries(PH).map(([k, v]) => `${k} ${((v as number) / Number(process.env.N ?? 50)).toFixed(1)}`).join("  ")); });
