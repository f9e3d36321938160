import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { openLedger, type Ledger } from "../../src/ledger";
import { startDevChain, type DevChain } from "../../src/chain/dev";
import { custodyAnchorAbi } from "../../src/chain/generated/abi";
import { solvencyMigrations } from "../../src/solvency";
import { refConsistencyProof, refRoot } from "../support/rfc9162";

export const FEES = { std: { asset: "EUR", fixed: 100n } } as const;

/**
 * A SQLite ledger with customers (alice, bob, carol in EUR; dora in USD), platform funds, fees and
 * the bank mirror, some deposits, a transfer and a fee; plus a real anvil with the custody contracts.
 */
export interface SolvencyWorld {
  db: Database;
  ledger: Ledger;
  chain: DevChain;
  dir: string;
  /** Anchors the ledger's log at its current size on CustodyAnchor; returns that size. */
  anchorLog(): Promise<number>;
  close(): Promise<void>;
}

export async function openSolvencyWorld(): Promise<SolvencyWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-solvency-"));
  const db = openDatabase(path.join(dir, "ledger.sqlite"));
  const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(0x42), feeSchedule: FEES });
  await migrate(db, solvencyMigrations);
  const open = (id: string, type: Parameters<Ledger["openAccount"]>[0]["type"], asset = "EUR") =>
    ledger.openAccount({ id, type, asset, scale: 2 });
  await open("bank", "bank_mirror");
  await open("bank-usd", "bank_mirror", "USD");
  await open("own", "platform_own");
  await open("fees", "fee_revenue");
  for (const c of ["alice", "bob", "carol"]) await open(c, "customer");
  await open("dora", "customer", "USD");
  let n = 0;
  const deposit = (to: string, amount: bigint, from = "bank") =>
    ledger.transfer({ id: `t${n++}`, debitAccountId: from, creditAccountId: to, amount, kind: "deposit" });
  await deposit("alice", 10_000n);
  await deposit("bob", 2_500n);
  await deposit("dora", 700n, "bank-usd");
  await deposit("own", 1_000_000n);
  await ledger.transfer({
    id: "t-ab",
    debitAccountId: "alice",
    creditAccountId: "bob",
    amount: 1_000n,
    kind: "transfer",
  });
  await ledger.transfer({
    id: "t-fee",
    debitAccountId: "alice",
    creditAccountId: "fees",
    amount: 100n,
    kind: "fee",
    fee: { code: "std" },
  });
  const chain = await startDevChain({ pollingIntervalMs: 50 });
  let anchored = 0;
  const relayer = chain.clientsOf(chain.accounts.relayer);
  return {
    db,
    ledger,
    chain,
    dir,
    async anchorLog() {
      const size = await ledger.eventCount();
      if (size === anchored) return size;
      const hashes = await ledger.leafHashes(0, size);
      const proof =
        anchored === 0
          ? []
          : refConsistencyProof(anchored, hashes).map((b) => `0x${b.toString("hex")}` as Hex);
      const hash = await relayer.walletClient.writeContract({
        address: chain.deployment.custodyAnchor,
        abi: custodyAnchorAbi,
        functionName: "anchor",
        args: [BigInt(size), `0x${refRoot(hashes).toString("hex")}` as Hex, proof, `0x${"00".repeat(32)}`],
      });
      await relayer.publicClient.waitForTransactionReceipt({ hash });
      anchored = size;
      return size;
    },
    async close() {
      await chain.stop();
      await ledger.close();
      await closeDatabase(db);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
