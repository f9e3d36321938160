import { expect } from "chai";
import type { Registry } from "prom-client";
import type { Hex } from "viem";
import type { HDAccount } from "viem/accounts";
import type { DevChain } from "../../../src/chain/dev";
import { custodyEscrowAbi } from "../../../src/chain/generated/abi";
import type { Database } from "../../../src/db/database";
import type { Ledger } from "../../../src/ledger";
import { createLogIntegrator } from "../../../src/log/integrator";
import type { openLogStore } from "../../../src/log/store";
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
        publicClient: o.chain.clients.publicClient,
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
