import { expect } from "chai";
import { Registry } from "prom-client";
import type { LedgerWriteStats } from "../../src/ledger";
import { registerLedgerWriteMetrics } from "../../src/stack/ledger-metrics";

describe("stack: ledger write metrics", () => {
  const stats: LedgerWriteStats = {
    groups: 12,
    units: 40,
    retries: 2,
    splits: 1,
    unlockedRetries: 3,
    accountCache: { hits: 9, misses: 4, checked: 9, stale: 3, pauses: 1, size: 250, paused: true },
  };

  it("reads the ledger's stats at each scrape, with the account cache's on PostgreSQL", async () => {
    const registry = new Registry();
    let s = stats;
    registerLedgerWriteMetrics(registry, { backend: "postgres", writeStats: () => s });
    const text = await registry.metrics();
    for (const line of [
      "custody_ledger_write_groups_total 12",
      "custody_ledger_write_calls_total 40",
      'custody_ledger_write_reruns_total{cause="database"} 2',
      'custody_ledger_write_reruns_total{cause="unlocked_rows"} 3',
      "custody_ledger_write_splits_total 1",
      'custody_ledger_account_cache_lookups_total{result="hit"} 9',
      'custody_ledger_account_cache_lookups_total{result="miss"} 4',
      'custody_ledger_account_cache_checks_total{result="ok"} 6',
      'custody_ledger_account_cache_checks_total{result="stale"} 3',
      "custody_ledger_account_cache_pauses_total 1",
      "custody_ledger_account_cache_rows 250",
      "custody_ledger_account_cache_paused 1",
    ])
      expect(text).to.include(`\n${line}\n`);
    s = { ...stats, groups: 13 };
    expect(await registry.metrics()).to.include("\ncustody_ledger_write_groups_total 13\n");
  });

  it("has no account cache metrics on SQLite", async () => {
    const registry = new Registry();
    const { accountCache: _, ...sqlite } = stats;
    registerLedgerWriteMetrics(registry, { backend: "sqlite", writeStats: () => sqlite });
    const text = await registry.metrics();
    expect(text).to.include("\ncustody_ledger_write_groups_total 12\n");
    expect(text).not.to.include("account_cache");
  });
});
