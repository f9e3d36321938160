import { Counter, Gauge, type Registry } from "prom-client";
import type { Ledger } from "../ledger";

/**
 * The ledger's write statistics as metrics, read from `ledger.writeStats()` at each scrape: how
 * many transactions and calls, how many reruns and why, and (PostgreSQL) how the account cache
 * fares; a high stale share or repeated pauses mean another process writes the same accounts.
 */
export function registerLedgerWriteMetrics(
  registry: Registry,
  ledger: Pick<Ledger, "writeStats" | "backend">,
): void {
  /** A counter set from the stats at each scrape: one value, or one per value of `label`. */
  const counter = (name: string, help: string, read: () => number | Record<string, number>, label?: string) =>
    new Counter({
      name,
      help,
      labelNames: label ? [label] : [],
      registers: [registry],
      collect() {
        this.reset();
        const v = read();
        if (typeof v === "number") this.inc(v);
        else for (const [value, n] of Object.entries(v)) this.inc({ [label!]: value }, n);
      },
    });
  counter(
    "custody_ledger_write_groups_total",
    "Ledger write transactions committed.",
    () => ledger.writeStats().groups,
  );
  counter(
    "custody_ledger_write_calls_total",
    "Ledger write calls answered in committed transactions.",
    () => ledger.writeStats().units,
  );
  counter(
    "custody_ledger_write_reruns_total",
    "Ledger write transactions run again: after a database error, or on locked rows after cached ones did not hold.",
    () => {
      const s = ledger.writeStats();
      return { database: s.retries, unlocked_rows: s.unlockedRetries };
    },
    "cause",
  );
  counter(
    "custody_ledger_write_splits_total",
    "Groups of calls split into single calls after an error.",
    () => ledger.writeStats().splits,
  );
  if (ledger.backend !== "postgres") return;
  const cache = () => ledger.writeStats().accountCache!;
  counter(
    "custody_ledger_account_cache_lookups_total",
    "Write groups that found every account in the account cache (hit) or locked and loaded them (miss).",
    () => ({ hit: cache().hits, miss: cache().misses }),
    "result",
  );
  counter(
    "custody_ledger_account_cache_checks_total",
    "Write groups planned from cached accounts, by whether their rows held (ok) or the group ran again (stale).",
    () => ({ ok: cache().checked - cache().stale, stale: cache().stale }),
    "result",
  );
  counter(
    "custody_ledger_account_cache_pauses_total",
    "Times the account cache stood aside after failed checks.",
    () => cache().pauses,
  );
  new Gauge({
    name: "custody_ledger_account_cache_rows",
    help: "Account rows in the account cache.",
    registers: [registry],
    collect() {
      this.set(cache().size);
    },
  });
  new Gauge({
    name: "custody_ledger_account_cache_paused",
    help: "1 while the account cache stands aside.",
    registers: [registry],
    collect() {
      this.set(cache().paused ? 1 : 0);
    },
  });
}
