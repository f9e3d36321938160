import { expect } from "chai";
import type { Registry } from "prom-client";
import type { Hex, PublicClient } from "viem";
import type { HDAccount } from "viem/accounts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startDevChain, type DevChain } from "../../../src/chain/dev";
import { custodyEscrowAbi } from "../../../src/chain/generated/abi";
import { closeDatabase, openDatabase, type Database } from "../../../src/db/database";
import { migrate } from "../../../src/db/migrate";
import { openLedger, type Ledger } from "../../../src/ledger";
import { createLogIntegrator } from "../../../src/log/integrator";
import { openLogStore } from "../../../src/log/store";
import { relayerMigrations } from "../../../src/relayer/anchor-store";
import { createPgTestDatabase, type PgTestDatabase } from "../../support/pg";
import { createEscrowBridge, type EscrowLedger } from "../../../src/relayer/escrow-bridge";
import { silentLogger } from "../../../src/logging";
import { createRelayer, type Relayer } from "../../../src/relayer/relayer";
import { logAnchorSource } from "../../../src/relayer/source";

/** The escrow tests' accounts (a bank mirror, two customers, an escrow account) and alice's deposit. */
export async function seedEscrowLedger(ledger: Ledger, deposit: bigint): Promise<void> {
  for (const [id, type] of [
    ["bank", "bank_mirror"],
    ["alice", "customer"],
    ["bob", "customer"],
    ["esc", "escrow"],
  ] as const)
    await ledger.openAccount({ id, type, asset: "EUR", scale: 2 });
  await ledger.transfer({
    id: "seed",
    debitAccountId: "bank",
    creditAccountId: "alice",
    amount: deposit,
    kind: "deposit",
  });
}

/** A relayer anchoring every entry at once, whose only task is the escrow bridge (over `bridgeLedger`). */
export function escrowBridgeRelayer(o: {
  db: Database;
  ledger: Ledger;
  logStore: Awaited<ReturnType<typeof openLogStore>>;
  chain: DevChain;
  registry: Registry;
  bridgeLedger?: EscrowLedger;
  /** The escrow bridge's view of the chain (default the chain's client); a wrapper injects faults. */
  bridgeClient?: PublicClient;
}): Relayer {
  const d = o.chain.deployment;
  return createRelayer({
    db: o.db,
    source: logAnchorSource({
      ledger: o.ledger,
      integrator: createLogIntegrator({ source: o.ledger, store: o.logStore }),
    }),
    publicClient: o.chain.clients.publicClient,
    account: o.chain.accounts.relayer,
    deployment: d,
    policy: { batchSize: 1, maxDelayMs: 0 },
    registry: o.registry,
    log: silentLogger,
    tasks: [
      createEscrowBridge({
        db: o.db,
        ledger: o.bridgeLedger ?? o.ledger,
        publicClient: o.bridgeClient ?? o.chain.clients.publicClient,
        escrow: d.custodyEscrow,
        fromBlock: d.deploymentBlock,
        log: silentLogger,
      }),
    ],
  });
}

/** The chain's latest block time (s). */
export async function chainNow(chain: DevChain): Promise<number> {
  return Number((await chain.clients.publicClient.getBlock()).timestamp);
}

/** An approver's `approve` or a `refund` of an escrow, mined and successful. */
export async function sendEscrowCall(
  chain: DevChain,
  account: HDAccount,
  functionName: "approve" | "refund",
  escrowId: Hex,
): Promise<void> {
  const { walletClient, publicClient } = chain.clientsOf(account);
  const hash = await walletClient!.writeContract({
    address: chain.deployment.custodyEscrow,
    abi: custodyEscrowAbi,
    functionName,
    args: [escrowId],
  });
  expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
}

/** What an escrow bridge test runs on: a real anvil, a ledger seeded for escrows, its log store. */
export interface EscrowBridgeEnv {
  chain: DevChain;
  db: Database;
  ledger: Ledger;
  logStore: Awaited<ReturnType<typeof openLogStore>>;
  /** Closes the ledger and database, stops the chain and removes the database or folder. */
  close(): Promise<void>;
}

/** Opens an {@link EscrowBridgeEnv} on a fresh SQLite file or PostgreSQL database. */
export async function openEscrowBridgeEnv(
  backend: "sqlite" | "postgres",
  pseudonymKeyByte: number,
): Promise<EscrowBridgeEnv> {
  let pgdb: PgTestDatabase | undefined;
  let dir: string | undefined;
  let url: string;
  if (backend === "postgres") {
    pgdb = await createPgTestDatabase();
    url = pgdb.url;
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "escrow-bridge-"));
    url = path.join(dir, "ledger.db");
  }
  const chain = await startDevChain();
  const db = openDatabase(url);
  await migrate(db, relayerMigrations);
  const ledger = await openLedger(db, { pseudonymKey: new Uint8Array(32).fill(pseudonymKeyByte) });
  await seedEscrowLedger(ledger, 100_000n);
  const logStore = await openLogStore(db);
  return {
    chain,
    db,
    ledger,
    logStore,
    async close() {
      await ledger.close();
      await closeDatabase(db);
      await chain.node.stop();
      await pgdb?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
