import type { Address, Hex, PublicClient } from "viem";
import { createEscrowCallData } from "../chain/actions/create-escrow";
import { findEscrow } from "../chain/actions/find-escrow";
import { readEscrowDecisions } from "../chain/actions/read-escrow-decisions";
import {
  EscrowTermsInvalidError,
  escrowTermsOf,
  toOnChainTerms,
  type EscrowTerms,
} from "../protocol/escrow-terms-v1";
import { revertErrorName } from "../chain/revert";
import type { Database } from "../db/database";
import { CustodyError, InvalidArgumentError, InvariantError } from "../errors";
import { assetToBytes32 } from "../protocol/leaf-v1";
import type { Metadata } from "../ledger/types";
import type { FaultHook } from "./faults";
import type { RelayerLogger } from "./logger";
import type { RelayerMetrics } from "./metrics";
import type { RelayerTask } from "./relayer";
import { all, run } from "../db/sql";
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

/**
 * The on-chain terms of an escrow hold: parties (account pseudonyms), asset and amount from the
 * hold; the rules from its `custody-escrow-terms-v1` metadata (src/protocol/escrow-terms-v1.ts).
 * Throws InvalidArgumentError (EscrowTermsInvalidError for bad or missing terms).
 */
export async function onChainTermsOf(ledger: EscrowLedger, hold: EscrowHold): Promise<EscrowTerms> {
  const context = `escrow hold ${hold.id}`;
  const terms = escrowTermsOf(hold.metadata, { context });
  if (!terms) throw new EscrowTermsInvalidError([{ path: [], message: "are missing" }], { context });
  if (!hold.payeeAccountId) throw new InvalidArgumentError(`${context} has no payee account`);
  return toOnChainTerms(terms, {
    payer: await ledger.accountPseudonym(hold.debitAccountId),
    payee: await ledger.accountPseudonym(hold.payeeAccountId),
    asset: assetToBytes32(hold.asset),
    amount: hold.amount,
  });
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
  const termsOf = o.termsOf ?? ((h: EscrowHold) => onChainTermsOf(o.ledger, h));

  const exists = async (id: Hex) => (await findEscrow(o.publicClient, o.escrow, id)) !== undefined;

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
      const data = createEscrowCallData(id, terms);
      try {
        sent.push(
          await sender.send(
            "escrow-create",
            { to: o.escrow, data, meta: { escrowId: id, holdId: hold.id } },
            { afterSend: "escrow:afterSend" },
          ),
        );
      } catch (e) {
        const name = revertErrorName(e);
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
      for (const { kind, escrowId, chainEventId } of await readEscrowDecisions(o.publicClient, o.escrow, {
        fromBlock: from,
        toBlock: to,
      })) {
        const hold = await o.ledger.getHoldByEscrowId(escrowId);
        if (!hold) {
          o.log("warn", "escrow event for an escrow this ledger does not hold", { escrowId, chainEventId });
          continue;
        }
        if (o.faults) await o.faults("escrow:beforeApply");
        const decision = { source: "chain" as const, chainEventId };
        try {
          if (kind === "release") await o.ledger.postHold(hold.id, decision);
          else await o.ledger.voidHold(hold.id, decision);
          o.metrics?.escrowEventsApplied.inc({ kind });
          o.log("info", `escrow ${kind} applied to the ledger`, { escrowId, holdId: hold.id, chainEventId });
        } catch (e) {
          // The hold was already decided otherwise: the ledger refuses; report, never force it.
          // Anything else (the database, a bug) stops the step before the cursor moves.
          if (!(e instanceof CustodyError) || e instanceof InvariantError) throw e;
          const code = e.code;
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
        "INSERT INTO relayer_cursors (name, block_number) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number",
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
