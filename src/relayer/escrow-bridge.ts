import {
  type Address,
  type Hex,
  type PublicClient,
  BaseError,
  ContractFunctionRevertedError,
  encodeFunctionData,
  getAddress,
  isAddress,
  isHex,
} from "viem";
import type { Database } from "../db/database";
import { InvalidArgumentError } from "../errors";
import { assetToBytes32, ZERO32 } from "../ledger/leaf";
import type { Metadata } from "../ledger/types";
import { escrowAbi } from "./abi";
import type { FaultHook } from "./faults";
import type { RelayerLogger } from "./logger";
import type { RelayerMetrics } from "./metrics";
import type { RelayerTask } from "./relayer";
import { all, run } from "./sql";
import type { TxSender } from "./tx-sender";

/** The escrow hold fields the bridge reads (a subset of the ledger's `Hold`). */
export interface EscrowHold {
  id: string;
  debitAccountId: string;
  asset: string;
  amount: bigint;
  status: string;
  escrowId?: Hex | null;
  payeeAccountId?: string | null;
  metadata?: Metadata | null;
}

/** What the bridge needs from the ledger (`openLedger(...)` satisfies it). */
export interface EscrowLedger {
  listOpenEscrowHolds(): Promise<readonly EscrowHold[]>;
  getHoldByEscrowId(escrowId: Hex): Promise<EscrowHold | undefined | null>;
  /** Exactly once per `chainEventId`: a replay returns the first result and appends nothing. */
  postHold(id: string, decision: { source: "chain"; chainEventId: string }): Promise<unknown>;
  voidHold(id: string, decision: { source: "chain"; chainEventId: string }): Promise<unknown>;
  accountPseudonym(accountId: string): Hex | Promise<Hex>;
}

/** On-chain escrow terms (ICustodyEscrow.Terms). */
export interface EscrowTerms {
  payer: Hex;
  payee: Hex;
  asset: Hex;
  amount: bigint;
  approvers: Address[];
  payerSideMask: number;
  threshold: number;
  /** Seconds since the epoch; 0 = never. */
  autoReleaseAt: bigint;
  /** Seconds since the epoch. */
  expiresAt: bigint;
  agreementHash: Hex;
}

/**
 * Default terms of an escrow hold: parties, asset and amount from the hold; the rules from its
 * metadata `escrowTerms` object: `{ approvers: address[], threshold: number, payerSideMask?: number,
 * autoReleaseAt?: seconds, expiresAt: seconds, agreementHash?: bytes32 }` (docs/relayer.md).
 */
export async function escrowTermsOf(ledger: EscrowLedger, hold: EscrowHold): Promise<EscrowTerms> {
  const t = (hold.metadata as Record<string, unknown> | null | undefined)?.escrowTerms as
    Record<string, unknown> | undefined;
  const bad = (what: string): never => {
    throw new InvalidArgumentError(`escrow hold ${hold.id}: metadata.escrowTerms.${what}`);
  };
  if (!t || typeof t !== "object") return bad("is missing");
  if (!hold.payeeAccountId) throw new InvalidArgumentError(`escrow hold ${hold.id} has no payee account`);
  const approvers = Array.isArray(t.approvers)
    ? t.approvers.map((a) =>
        typeof a === "string" && isAddress(a) ? getAddress(a) : bad("approvers has a bad address"),
      )
    : bad("approvers must be an array of addresses");
  const int = (k: string, v: unknown, dflt?: number): number =>
    v === undefined && dflt !== undefined
      ? dflt
      : typeof v === "number" && Number.isSafeInteger(v) && v >= 0
        ? v
        : bad(`${k} must be a non-negative integer`);
  const agreement = t.agreementHash ?? ZERO32;
  if (typeof agreement !== "string" || !isHex(agreement) || agreement.length !== 66)
    bad("agreementHash must be bytes32");
  return {
    payer: await ledger.accountPseudonym(hold.debitAccountId),
    payee: await ledger.accountPseudonym(hold.payeeAccountId),
    asset: assetToBytes32(hold.asset),
    amount: hold.amount,
    approvers,
    payerSideMask: int("payerSideMask", t.payerSideMask, 0),
    threshold: int("threshold", t.threshold),
    autoReleaseAt: BigInt(int("autoReleaseAt", t.autoReleaseAt, 0)),
    expiresAt: BigInt(int("expiresAt", t.expiresAt)),
    agreementHash: (agreement as string).toLowerCase() as Hex,
  };
}

export interface EscrowBridgeOptions {
  db: Database;
  ledger: EscrowLedger;
  publicClient: PublicClient;
  escrow: Address;
  /** Block to start scanning escrow events from (the deployment block). */
  fromBlock: number;
  /** Apply events only from blocks this deep (0 on a dev chain). */
  confirmations?: number;
  /** Blocks per log query (default 2000). */
  maxBlockRange?: number;
  termsOf?: (hold: EscrowHold) => Promise<EscrowTerms>;
  log: RelayerLogger;
  metrics?: RelayerMetrics;
  faults?: FaultHook;
}

const CURSOR = "escrow-events";

function revertName(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (r?.data?.errorName) return r.data.errorName;
  // estimateGas errors carry the raw revert data; match the selector by name in the message.
  const m = /CustodyEscrow[A-Za-z]+/.exec(e.message);
  return m?.[0];
}

/**
 * The escrow bridge, run by the leader after anchoring:
 * 1. every open escrow hold of the ledger gets its on-chain escrow (idempotent by escrow id: an
 *    existing escrow is recognised and left alone);
 * 2. `EscrowReleased` / `EscrowRefunded` events from confirmed blocks are applied to the ledger
 *    (post / void the hold) keyed by `<txHash>:<logIndex>`, so a replay changes nothing; a cursor
 *    in the database remembers the last block applied, across restarts.
 */
export function createEscrowBridge(o: EscrowBridgeOptions): RelayerTask {
  const known = new Set<string>();
  const failed = new Set<string>();
  const termsOf = o.termsOf ?? ((h: EscrowHold) => escrowTermsOf(o.ledger, h));

  async function exists(id: Hex): Promise<boolean> {
    try {
      await o.publicClient.readContract({
        address: o.escrow,
        abi: escrowAbi,
        functionName: "getEscrow",
        args: [id],
      });
      return true;
    } catch (e) {
      if (revertName(e) === "CustodyEscrowNotFound") return false;
      throw e;
    }
  }

  async function createMissing(sender: TxSender) {
    const inFlight = new Set(
      (await sender.inFlight("escrow-create")).map((p) => String(p.request.meta?.escrowId)),
    );
    const sent = [];
    for (const hold of await o.ledger.listOpenEscrowHolds()) {
      const id = hold.escrowId?.toLowerCase() as Hex | undefined;
      if (!id || known.has(id) || failed.has(id) || inFlight.has(id)) continue;
      if (await exists(id)) {
        known.add(id);
        continue;
      }
      let terms: EscrowTerms;
      try {
        terms = await termsOf(hold);
      } catch (e) {
        failed.add(id);
        o.log("error", "escrow hold has no valid on-chain terms; not created", {
          holdId: hold.id,
          escrowId: id,
          error: String(e),
        });
        continue;
      }
      const data = encodeFunctionData({ abi: escrowAbi, functionName: "createEscrow", args: [id, terms] });
      try {
        sent.push(
          await sender.send(
            "escrow-create",
            { to: o.escrow, data, meta: { escrowId: id, holdId: hold.id } },
            { afterSend: "escrow:afterSend" },
          ),
        );
      } catch (e) {
        const name = revertName(e);
        if (name === "CustodyEscrowAlreadyExists") {
          known.add(id);
          continue;
        }
        if (name?.startsWith("CustodyEscrow")) {
          // Terms the contract rejects will not become valid by retrying.
          failed.add(id);
          o.log("error", "chain rejected escrow terms", { holdId: hold.id, escrowId: id, error: name });
          continue;
        }
        throw e;
      }
    }
    for (const p of sent) {
      await sender.waitMined(p);
      known.add(String(p.request.meta?.escrowId));
      o.metrics?.escrowsCreated.inc();
      o.log("info", "escrow created on chain", { escrowId: p.request.meta?.escrowId, txHash: p.txHash });
    }
  }

  async function applyEvents(tip: number) {
    const safe = tip - Math.max(0, (o.confirmations ?? 0) - 1);
    const rows = await all<{ block_number: number | string }>(
      o.db,
      "SELECT block_number FROM relayer_cursors WHERE name = ?",
      [CURSOR],
    );
    let from = rows[0] ? Number(rows[0].block_number) + 1 : o.fromBlock;
    while (from <= safe) {
      const to = Math.min(safe, from + (o.maxBlockRange ?? 2000) - 1);
      const logs = await o.publicClient.getContractEvents({
        address: o.escrow,
        abi: escrowAbi,
        fromBlock: BigInt(from),
        toBlock: BigInt(to),
      });
      logs.sort((a, b) => Number(a.blockNumber! - b.blockNumber!) || a.logIndex! - b.logIndex!);
      for (const ev of logs) {
        if (ev.eventName !== "EscrowReleased" && ev.eventName !== "EscrowRefunded") continue;
        const escrowId = (ev.args as { escrowId: Hex }).escrowId.toLowerCase() as Hex;
        const chainEventId = `${ev.transactionHash!.toLowerCase()}:${ev.logIndex}`;
        const hold = await o.ledger.getHoldByEscrowId(escrowId);
        if (!hold) {
          o.log("warn", "escrow event for an escrow this ledger does not hold", { escrowId, chainEventId });
          continue;
        }
        if (o.faults) await o.faults("escrow:beforeApply");
        const decision = { source: "chain" as const, chainEventId };
        const kind = ev.eventName === "EscrowReleased" ? "release" : "refund";
        try {
          if (kind === "release") await o.ledger.postHold(hold.id, decision);
          else await o.ledger.voidHold(hold.id, decision);
          o.metrics?.escrowEventsApplied.inc({ kind });
          o.log("info", `escrow ${kind} applied to the ledger`, { escrowId, holdId: hold.id, chainEventId });
        } catch (e) {
          // The hold was already decided otherwise: the ledger refuses; report, never force it.
          const code = (e as { code?: string }).code;
          if (!code) throw e;
          o.log("error", `escrow ${kind} could not be applied`, {
            escrowId,
            holdId: hold.id,
            chainEventId,
            code,
            error: String(e),
          });
        }
        if (o.faults) await o.faults("escrow:afterApply");
      }
      await run(
        o.db,
        o.db.kind === "sqlite"
          ? "INSERT INTO relayer_cursors (name, block_number) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number"
          : "INSERT INTO relayer_cursors (name, block_number) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET block_number = EXCLUDED.block_number",
        [CURSOR, to],
      );
      from = to + 1;
    }
  }

  return {
    name: "escrow-bridge",
    async run({ sender, tip }) {
      await createMissing(sender);
      await applyEvents(tip);
    },
  };
}
