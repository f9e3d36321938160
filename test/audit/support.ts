import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Address, type Hex, parseEventLogs } from "viem";
import type { HDAccount } from "viem/accounts";
import type { DevChain } from "../../src/chain/dev";
import { custodyAnchorAbi, custodyEscrowAbi } from "../../src/chain/generated/abi";
import type { Database } from "../../src/db/database";
import { type Ledger, ZERO32 } from "../../src/ledger";
import { assetToBytes32 } from "../../src/protocol/leaf-v1";
import { createLogIntegrator } from "../../src/log/integrator";
import { openLogStore } from "../../src/log/store";
import { logAnchorSource } from "../../src/relayer/source";

export const KEY = new Uint8Array(32).fill(0x42);
export const FEES = { std: { asset: "EUR", fixed: 100n, basisPoints: 50, max: 10_000n } } as const;

/** The audit tests' chain: the dev chain, where the escrow approver is `accounts.approverPayer`. */
export type AuditChain = DevChain;

/** `custody audit` arguments: database `db` against the chain's contracts, the report written to `out`. */
export function auditArgs(c: AuditChain, db: string, out: string): string[] {
  return [
    "audit",
    "--rpc",
    c.node.rpcUrl,
    "--db",
    db,
    "--contract",
    c.deployment.custodyAnchor,
    "--escrow",
    c.deployment.custodyEscrow,
    "--out",
    out,
    "--no-progress",
  ];
}

export function tempDir(prefix = "custody-audit-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function send(
  c: AuditChain,
  account: HDAccount,
  address: Address,
  abi: typeof custodyEscrowAbi | typeof custodyAnchorAbi,
  functionName: string,
  args: readonly unknown[],
) {
  const hash = await c.clients.walletClient!.writeContract({
    address,
    abi,
    functionName,
    args,
    account,
  } as never);
  const receipt = await c.clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  return receipt;
}

/** `<txHash>:<logIndex>` of the escrow's terminal event in a receipt. */
function decisionId(
  receipt: Awaited<ReturnType<typeof send>>,
  eventName: "EscrowReleased" | "EscrowRefunded",
): string {
  const log = parseEventLogs({ abi: custodyEscrowAbi, logs: receipt.logs, eventName })[0];
  if (!log) throw new Error(`no ${eventName} in ${receipt.transactionHash}`);
  return `${receipt.transactionHash}:${log.logIndex}`;
}

/**
 * A small but complete ledger: every account type, deposits, transfers, a fee, a withdrawal, a
 * two-phase hold, facts, three escrow holds decided on chain (released, refunded by dispute, open),
 * then a freeze, a batch, a voided hold and an open one.
 */
export async function populateLedger(ledger: Ledger, c: AuditChain): Promise<{ escrowIds: Hex[] }> {
  for (const [id, type] of [
    ["bank", "bank_mirror"],
    ["settlement", "settlement"],
    ["escrow", "escrow"],
    ["fees", "fee_revenue"],
    ["own", "platform_own"],
    ["alice", "customer"],
    ["bob", "customer"],
    ["carol", "customer"],
  ] as const)
    await ledger.openAccount({ id, type, asset: "EUR", scale: 2 });
  await ledger.transfer({
    id: "d1",
    debitAccountId: "bank",
    creditAccountId: "alice",
    amount: 10_000n,
    kind: "deposit",
  });
  await ledger.transfer({
    id: "d2",
    debitAccountId: "bank",
    creditAccountId: "bob",
    amount: 5_000n,
    kind: "deposit",
  });
  await ledger.transfer({
    id: "t1",
    debitAccountId: "alice",
    creditAccountId: "bob",
    amount: 1_500n,
    kind: "transfer",
  });
  await ledger.transfer({
    id: "t2",
    debitAccountId: "bob",
    creditAccountId: "alice",
    amount: 200n,
    kind: "transfer",
  });
  await ledger.transfer({
    id: "f1",
    debitAccountId: "alice",
    creditAccountId: "fees",
    amount: 100n,
    kind: "fee",
    fee: { code: "std" },
  });
  await ledger.transfer({
    id: "w1",
    debitAccountId: "bob",
    creditAccountId: "settlement",
    amount: 300n,
    kind: "withdrawal",
  });
  await ledger.createHold({
    id: "p1",
    debitAccountId: "alice",
    creditAccountId: "bob",
    amount: 50n,
    kind: "transfer",
    timeoutMs: 60_000,
  });
  await ledger.postHold("p1", { source: "api" });
  // Non-money facts sit in the same log: the audit replays them too.
  await ledger.recordFact({
    id: "stmt-1",
    kind: "BANK_STATEMENT",
    documentHash: `0x${"ab".repeat(32)}`,
    subject: "bank",
    asset: "EUR",
    amount: 15_000n,
  });
  await ledger.recordFact({ id: "alert-1", kind: "ALERT_RAISED", documentHash: `0x${"cd".repeat(32)}` });

  const escrowIds: Hex[] = [];
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + 86_400);
  for (const [id, payer, payee, amount] of [
    ["e1", "alice", "bob", 1_000n],
    ["e2", "alice", "carol", 700n],
    ["e3", "bob", "alice", 400n],
  ] as const) {
    const h = await ledger.createHold({
      id,
      debitAccountId: payer,
      creditAccountId: "escrow",
      amount,
      kind: "escrow_hold",
      payeeAccountId: payee,
    });
    escrowIds.push(h.escrowId!);
    await send(c, c.accounts.relayer, c.deployment.custodyEscrow, custodyEscrowAbi, "createEscrow", [
      h.escrowId!,
      {
        payer: ledger.accountPseudonym(payer),
        payee: ledger.accountPseudonym(payee),
        asset: assetToBytes32("EUR"),
        amount,
        approvers: [c.accounts.approverPayer.address],
        payerSideMask: 1,
        threshold: 1,
        autoReleaseAt: 0n,
        expiresAt,
        agreementHash: ZERO32,
      },
    ]);
  }
  const released = await send(
    c,
    c.accounts.approverPayer,
    c.deployment.custodyEscrow,
    custodyEscrowAbi,
    "approve",
    [escrowIds[0]],
  );
  await ledger.postHold("e1", { source: "chain", chainEventId: decisionId(released, "EscrowReleased") });
  await send(c, c.accounts.approverPayer, c.deployment.custodyEscrow, custodyEscrowAbi, "dispute", [
    escrowIds[1],
  ]);
  const refunded = await send(
    c,
    c.accounts.custodian,
    c.deployment.custodyEscrow,
    custodyEscrowAbi,
    "resolveDispute",
    [escrowIds[1], false],
  );
  await ledger.voidHold("e2", { source: "chain", chainEventId: decisionId(refunded, "EscrowRefunded") });
  // After the escrows: a freeze and unfreeze, a batch, a voided hold and a hold left open.
  await ledger.setAccountStatus("carol", "frozen");
  await ledger.setAccountStatus("carol", "active");
  await ledger.transferBatch([
    { id: "b1", debitAccountId: "alice", creditAccountId: "carol", amount: 25n, kind: "transfer" },
    {
      id: "b2",
      debitAccountId: "carol",
      creditAccountId: "bob",
      amount: 5n,
      kind: "transfer",
      metadata: { memo: "split" },
    },
  ]);
  await ledger.createHold({
    id: "p2",
    debitAccountId: "bob",
    creditAccountId: "alice",
    amount: 40n,
    kind: "transfer",
    timeoutMs: 60_000,
  });
  await ledger.voidHold("p2", { source: "api" });
  await ledger.createHold({
    id: "p3",
    debitAccountId: "alice",
    creditAccountId: "carol",
    amount: 10n,
    kind: "transfer",
  });
  return { escrowIds };
}

/**
 * Copies the ledger's leaf hashes into the log store of the same database, and anchors heads at
 * `sizes` (each a prefix of the ledger's events) with direct `anchor` calls.
 */
export async function anchorHeads(
  ledger: Ledger,
  db: Database,
  c: AuditChain,
  sizes: readonly number[],
): Promise<void> {
  const source = logAnchorSource({
    ledger,
    integrator: createLogIntegrator({ source: ledger, store: await openLogStore(db) }),
  });
  await source.sync();
  let prev = 0;
  for (const size of sizes) {
    await send(c, c.accounts.relayer, c.deployment.custodyAnchor, custodyAnchorAbi, "anchor", [
      BigInt(size),
      await source.root(size),
      prev === 0 ? [] : await source.consistencyProof(prev, size),
      ZERO32,
    ]);
    prev = size;
  }
}
