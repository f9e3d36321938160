import { keccak256, toBytes, type Address, type Hex, type PublicClient } from "viem";
import { createEscrowCallData } from "../chain/actions/create-escrow";
import { findEscrow } from "../chain/actions/find-escrow";
import { readEscrowPaused } from "../chain/actions/read-escrow-paused";
import type { OnChainEscrow } from "../chain/actions/read-escrow";
import { findEscrowDecision, readEscrowDecisions } from "../chain/actions/read-escrow-decisions";
import {
  readEscrowSettlement,
  settleEscrowCallData,
  type EscrowSettlement,
} from "../chain/actions/settle-escrow";
import {
  EscrowTermsInvalidError,
  escrowTermsDifferences,
  escrowTermsOf,
  toOnChainTerms,
  type EscrowTerms,
} from "../protocol/escrow-terms-v1";
import { revertErrorName } from "../chain/revert";
import type { Database } from "../db/database";
import { InvalidArgumentError } from "../errors";
import {
  HoldAlreadyDecidedError,
  HoldDecidedOtherwiseError,
  ChainEventConflictError,
} from "../ledger/errors";
import { assetToBytes32 } from "../protocol/leaf-v1";
import type { Metadata } from "../ledger/types";
import type { FaultHook } from "./faults";
import type { Logger } from "../logging";
import type { RelayerMetrics } from "./metrics";
import type { RelayerTask } from "./relayer";
import { all, run } from "../db/sql";
import type { RelayerAlarm } from "./types";
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
  /**
   * Exactly once per `chainEventId`: a replay returns the first result and appends nothing. A hold
   * already decided by another chain event throws HoldAlreadyDecidedError (same outcome) or
   * HoldDecidedOtherwiseError (opposite outcome).
   */
  postHold(id: string, decision: { source: "chain"; chainEventId: string }): Promise<unknown>;
  voidHold(id: string, decision: { source: "chain"; chainEventId: string }): Promise<unknown>;
  accountPseudonym(accountId: string): Hex | Promise<Hex>;
}

/**
 * The on-chain terms of an escrow hold: parties (account pseudonyms), asset and amount from the
 * hold; the rules from its `custody-escrow-terms-v1` metadata (src/chain/escrow-terms.ts).
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
  /**
   * Every this often (and at the first step, and whenever the chain is seen to have lost blocks)
   * each pending escrow hold is checked against its escrow's state on chain (default 30 s).
   */
  reconcileIntervalMs?: number;
  termsOf?: (hold: EscrowHold) => Promise<EscrowTerms>;
  log: Logger;
  metrics?: RelayerMetrics;
  faults?: FaultHook;
}

const CURSOR = "escrow-events";

/**
 * Log index marking a chain event id that names no event: a decision the chain's *state* holds at
 * a block the scan passed, with no event for it in any scanned block (a local node restarted from
 * a dump that kept the contract's storage but not the block that changed it). No real log index
 * comes near it.
 */
export const STATE_DECISION_LOG_INDEX = 4294967295;

/**
 * The chain event id under which such a decision is applied: keccak256("custody-escrow-state:" ‖
 * escrow id ‖ ":" ‖ kind), then `:4294967295`. Deterministic, so every relayer applies it under the
 * same id, and recognisable by an auditor, who finds no transaction with that hash.
 */
export function stateDecisionId(escrowId: Hex, kind: "release" | "refund"): string {
  return `${keccak256(toBytes(`custody-escrow-state:${escrowId.toLowerCase()}:${kind}`))}:${STATE_DECISION_LOG_INDEX}`;
}
/** Recent cursor positions kept to resume from after the chain lost blocks. */
const CHECKPOINTS = 64;

type EscrowAlarmKind = "escrow-decided-otherwise" | "escrow-terms-mismatch" | "escrow-decision-lost";
const ALARM_KINDS: readonly EscrowAlarmKind[] = [
  "escrow-decided-otherwise",
  "escrow-terms-mismatch",
  "escrow-decision-lost",
];

/** The terms of an on-chain escrow, shaped as `createEscrow` takes them. */
function termsOnChain(e: OnChainEscrow): EscrowTerms {
  return {
    payer: e.payer,
    payee: e.payee,
    asset: e.asset,
    amount: e.amount,
    approvers: e.approvers,
    payerSideMask: e.payerSideMask,
    threshold: e.threshold,
    autoReleaseAt: BigInt(e.autoReleaseAt),
    expiresAt: BigInt(e.expiresAt),
    agreementHash: e.agreementHash,
  };
}

/**
 * The escrow bridge, run by the leader after anchoring:
 * 1. every open escrow hold of the ledger gets its on-chain escrow. An escrow already on chain is
 *    compared term by term with the hold's terms; a difference is refused and raises an alarm
 *    (`escrow-terms-mismatch`), and no decision of that escrow is ever applied;
 * 2. `EscrowReleased` / `EscrowRefunded` events from confirmed blocks are applied to the ledger
 *    (post / void the hold) keyed by `<txHash>:<logIndex>`, so a replay changes nothing; a cursor
 *    in the database remembers the last block applied, across restarts;
 * 3. escrows whose auto-release time or expiry has come get their permissionless `release` or
 *    `refund` sent (the contract decides which from the terms, however late it is sent).
 *
 * The cursor moves past an event only once its outcome is in the ledger, is already there
 * (HoldAlreadyDecidedError), or is recorded as an alarm in `relayer_escrow_alarms` (a hold decided
 * the other way, terms that differ). Any other error (a busy database, a dropped connection) fails
 * the step without moving the cursor; the next step retries the same events.
 *
 * The chain may lose blocks the cursor has passed (a local node restarted from an older state file,
 * a reorganisation): the cursor keeps the hash of its block, and when the chain no longer has that
 * block, scanning resumes after the newest recent cursor position whose block the chain still has
 * (`relayer_cursor_blocks`), or else from `fromBlock`; what the bridge remembers about escrows on
 * chain is forgotten, so escrows created in lost blocks are created again. Independently of events,
 * every pending escrow hold is checked against its escrow's *state* on chain at the first step,
 * every `reconcileIntervalMs` and after lost blocks: a decided escrow whose decision is not in the
 * ledger has its decision event looked up and applied. Each decision is applied at most once
 * whichever way it is found (the ledger is idempotent per hold and per chain event).
 *
 * The ledger never takes a decision back, so one whose block the chain then lost must be made true
 * on chain again: every applied decision is recorded with its block (`relayer_escrow_decisions`),
 * and those at or above where scanning resumes are marked lost. Each step checks them against the
 * chain: an escrow the chain no longer has is created again from the hold's terms; an Open one gets
 * the same `release` / `refund` sent again when its terms allow it now (permissionless; an outage
 * never flips the outcome, see settleDue). When they do not (a release by approvals the chain lost,
 * before its auto-release time) the bridge raises `escrow-decision-lost` and keeps checking: the
 * alarm clears itself once the chain holds the ledger's decision again (approvers approve again).
 * An escrow the chain decided the other way raises `escrow-decided-otherwise`.
 */
export function createEscrowBridge(o: EscrowBridgeOptions): RelayerTask {
  const known = new Set<string>();
  const failed = new Set<string>();
  /** Lost decisions whose escrow the contract refuses to create again (alarm raised). */
  const unrestorable = new Set<string>();
  const termsOf = o.termsOf ?? ((h: EscrowHold) => onChainTermsOf(o.ledger, h));
  let alarms: { escrowId: string; kind: EscrowAlarmKind; message: string }[] | undefined;
  let metrics = o.metrics;
  let reconciledAt: number | undefined;

  /** Alarms as the table holds them; `fresh` rereads it, so one an operator cleared is gone. */
  async function loadAlarms(fresh = false) {
    if (alarms && !fresh) return alarms;
    const rows = await all<{ escrow_id: string; kind: EscrowAlarmKind; message: string }>(
      o.db,
      "SELECT escrow_id, kind, message FROM relayer_escrow_alarms ORDER BY raised_at, escrow_id",
    );
    alarms = rows.map((r) => ({ escrowId: r.escrow_id, kind: r.kind, message: r.message }));
    publishAlarms();
    return alarms;
  }

  function publishAlarms() {
    for (const kind of ALARM_KINDS)
      metrics?.escrowAlarms.set({ kind }, alarms?.filter((a) => a.kind === kind).length ?? 0);
  }

  /** Records an alarm durably (once per escrow, kind and event) before the cursor may pass it. */
  async function raise(
    kind: EscrowAlarmKind,
    a: { escrowId: string; chainEventId?: string; holdId?: string; message: string; details?: object },
  ) {
    await loadAlarms();
    const n = await run(
      o.db,
      "INSERT INTO relayer_escrow_alarms (escrow_id, kind, chain_event_id, hold_id, message, raised_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [a.escrowId, kind, a.chainEventId ?? "", a.holdId ?? null, a.message, Date.now()],
    );
    if (n === 0) return; // raised before (it stays until cleared): logged then
    alarms!.push({ escrowId: a.escrowId, kind, message: a.message });
    publishAlarms();
    o.log.error(
      {
        alarm: kind,
        escrowId: a.escrowId,
        holdId: a.holdId,
        chainEventId: a.chainEventId,
        ...a.details,
      },
      `ESCROW ALARM (${kind}): ${a.message}`,
    );
  }

  /**
   * Whether the escrow on chain carries the hold's terms (cached once true). A difference, or a hold
   * without valid terms, raises `escrow-terms-mismatch` and answers false.
   */
  async function termsMatch(hold: EscrowHold, onChain: OnChainEscrow, chainEventId?: string) {
    const id = onChain.escrowId.toLowerCase();
    if (known.has(id)) return true;
    let expected: EscrowTerms;
    try {
      expected = await termsOf(hold);
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw e;
      await raise("escrow-terms-mismatch", {
        escrowId: id,
        chainEventId,
        holdId: hold.id,
        message: `escrow ${id} exists on chain but hold ${hold.id} has no valid terms to compare: ${e.shortMessage}`,
      });
      return false;
    }
    const diff = escrowTermsDifferences(expected, termsOnChain(onChain));
    if (diff.length) {
      const first = diff[0]!;
      await raise("escrow-terms-mismatch", {
        escrowId: id,
        chainEventId,
        holdId: hold.id,
        message: `escrow ${id} on chain differs from hold ${hold.id}: ${first.term} is ${first.found}, expected ${first.expected}`,
        details: { differences: diff },
      });
      return false;
    }
    known.add(id);
    return true;
  }

  /**
   * Sends `createEscrow` for `id`. Returns the pending transaction, or the name of the contract's
   * refusal (`CustodyEscrow…`, e.g. AlreadyExists, or terms it rejects now); throws anything else.
   */
  async function sendCreate(sender: TxSender, id: Hex, holdId: string, terms: EscrowTerms) {
    try {
      return await sender.send(
        "escrow-create",
        { to: o.escrow, data: createEscrowCallData(id, terms), meta: { escrowId: id, holdId } },
        { afterSend: "escrow:afterSend" },
      );
    } catch (e) {
      const name = revertErrorName(e);
      if (name?.startsWith("CustodyEscrow")) return name;
      throw e;
    }
  }

  /**
   * Sends the permissionless `release` / `refund` of `id`. Undefined if it reverts (someone decided
   * the escrow, or paused the contract, between the read and the send: looked at again next step).
   */
  async function sendSettlement(sender: TxSender, id: Hex, holdId: string, settlement: EscrowSettlement) {
    try {
      return await sender.send(`escrow-${settlement}`, {
        to: o.escrow,
        data: settleEscrowCallData(id, settlement),
        meta: { escrowId: id, holdId },
      });
    } catch (e) {
      if (!revertErrorName(e) && !/revert/i.test(String(e))) throw e;
      o.log.warn({ escrowId: id, error: String(e).split("\n")[0] }, `escrow ${settlement} not sent`);
      return undefined;
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
      const existing = await findEscrow(o.publicClient, o.escrow, id);
      if (existing) {
        // Someone (this relayer before a crash, or another party) created it: accept it only if
        // it carries exactly the hold's terms.
        if (!(await termsMatch(hold, existing))) failed.add(id);
        continue;
      }
      let terms: EscrowTerms;
      try {
        terms = await termsOf(hold);
      } catch (e) {
        failed.add(id);
        o.log.error(
          {
            holdId: hold.id,
            escrowId: id,
            error: String(e),
          },
          "escrow hold has no valid on-chain terms; not created",
        );
        continue;
      }
      const p = await sendCreate(sender, id, hold.id, terms);
      if (typeof p !== "string") sent.push(p);
      else if (p !== "CustodyEscrowAlreadyExists") {
        // Terms the contract rejects will not become valid by retrying (AlreadyExists: compared
        // on the next step).
        failed.add(id);
        o.log.error({ holdId: hold.id, escrowId: id, error: p }, "chain rejected escrow terms");
      }
    }
    for (const p of sent) {
      await sender.waitMined(p);
      known.add(String(p.request.meta?.escrowId));
      metrics?.escrowsCreated.inc();
      o.log.info({ escrowId: p.request.meta?.escrowId, txHash: p.txHash }, "escrow created on chain");
    }
  }

  /**
   * Sends `release` for open escrows the rules released (auto-release time reached) and `refund` for
   * expired ones no rule released: both are permissionless, and the contract decides which one
   * applies from the terms (docs/contracts-v1.md, the outcome rule), so sending late (after an outage
   * or a pause) gives the same outcome as sending on time.
   */
  async function settleDue(sender: TxSender) {
    const now = Number((await o.publicClient.getBlock({ blockTag: "latest" })).timestamp);
    const inFlight = new Set(
      [...(await sender.inFlight("escrow-release")), ...(await sender.inFlight("escrow-refund"))].map((p) =>
        String(p.request.meta?.escrowId),
      ),
    );
    const sent = [];
    for (const hold of await o.ledger.listOpenEscrowHolds()) {
      const id = hold.escrowId?.toLowerCase() as Hex | undefined;
      if (!id || !known.has(id) || inFlight.has(id)) continue;
      let t;
      try {
        t = escrowTermsOf(hold.metadata);
      } catch {
        continue;
      }
      if (!t || !((t.autoReleaseAt !== 0 && t.autoReleaseAt <= now) || t.expiresAt <= now)) continue;
      const settlement = await readEscrowSettlement(o.publicClient, o.escrow, id);
      if (!settlement) continue;
      const p = await sendSettlement(sender, id, hold.id, settlement);
      if (p) sent.push(p);
    }
    for (const p of sent) {
      await sender.waitMined(p);
      o.log.info(
        {
          escrowId: p.request.meta?.escrowId,
          txHash: p.txHash,
        },
        `escrow ${p.kind.slice("escrow-".length)} sent`,
      );
    }
  }

  /**
   * Records that the ledger's decision of `escrowId` rests on chain event `chainEventId` in block
   * `blockNumber`: a decision the chain holds (again), so no longer lost.
   */
  async function noteDecision(
    escrowId: Hex,
    holdId: string,
    kind: "release" | "refund",
    chainEventId: string,
    blockNumber: number,
  ) {
    await run(
      o.db,
      "INSERT INTO relayer_escrow_decisions (escrow_id, hold_id, kind, chain_event_id, block_number, lost) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (escrow_id) DO UPDATE SET hold_id = excluded.hold_id, kind = excluded.kind, chain_event_id = excluded.chain_event_id, block_number = excluded.block_number, lost = 0",
      [escrowId, holdId, kind, chainEventId, blockNumber],
    );
    await clearDecisionLost(escrowId);
  }

  /** Drops the `escrow-decision-lost` alarm of `escrowId`, if any: the chain agrees again. */
  async function clearDecisionLost(escrowId: Hex) {
    const n = await run(o.db, "DELETE FROM relayer_escrow_alarms WHERE escrow_id = ? AND kind = ?", [
      escrowId,
      "escrow-decision-lost",
    ]);
    if (n > 0) {
      await loadAlarms(true);
      o.log.info({ escrowId }, "the chain holds the ledger's decision of the escrow again; alarm cleared");
    }
  }

  /** Applies one terminal escrow event to the ledger. Throws (cursor stays) on anything not settled. */
  async function applyDecision(
    escrowId: Hex,
    kind: "release" | "refund",
    chainEventId: string,
    blockNumber: number,
  ) {
    const hold = await o.ledger.getHoldByEscrowId(escrowId);
    if (!hold) {
      o.log.warn({ escrowId, chainEventId }, "escrow event for an escrow this ledger does not hold");
      return;
    }
    // Already decided this way (by this event or another one with the same outcome, e.g. the same
    // decision mined again after the chain lost blocks): the ledger would refuse it as such.
    if (hold.status === (kind === "release" ? "posted" : "voided")) {
      await noteDecision(escrowId, hold.id, kind, chainEventId, blockNumber);
      return;
    }
    if (!known.has(escrowId)) {
      const onChain = await findEscrow(o.publicClient, o.escrow, escrowId);
      if (!onChain || !(await termsMatch(hold, onChain, chainEventId))) {
        o.log.error(
          {
            escrowId,
            holdId: hold.id,
            chainEventId,
          },
          `escrow ${kind} refused: the escrow's on-chain terms are not the hold's`,
        );
        return;
      }
    }
    if (o.faults) await o.faults("escrow:beforeApply");
    const decision = { source: "chain" as const, chainEventId };
    try {
      if (kind === "release") await o.ledger.postHold(hold.id, decision);
      else await o.ledger.voidHold(hold.id, decision);
      await noteDecision(escrowId, hold.id, kind, chainEventId, blockNumber);
      metrics?.escrowEventsApplied.inc({ kind });
      o.log.info({ escrowId, holdId: hold.id, chainEventId }, `escrow ${kind} applied to the ledger`);
    } catch (e) {
      if (e instanceof HoldAlreadyDecidedError) {
        // Another chain event already applied this very outcome (e.g. the same decision mined again
        // after a reorg): nothing to do.
        o.log.info(
          {
            escrowId,
            holdId: hold.id,
            chainEventId,
          },
          `escrow ${kind} already applied to the ledger`,
        );
        await noteDecision(escrowId, hold.id, kind, chainEventId, blockNumber);
      } else if (e instanceof HoldDecidedOtherwiseError || e instanceof ChainEventConflictError) {
        await raise("escrow-decided-otherwise", {
          escrowId,
          chainEventId,
          holdId: hold.id,
          message: `the chain decided ${kind} of escrow ${escrowId} but the ledger refused: ${e.shortMessage}`,
        });
      } else {
        throw e;
      }
    }
    if (o.faults) await o.faults("escrow:afterApply");
  }

  const safeTip = (tip: number) => tip - Math.max(0, (o.confirmations ?? 0) - 1);

  /** Hash of block `n`, lower-case, or undefined if the chain has no such block (yet, or any more). */
  async function hashAt(n: number): Promise<string | undefined> {
    try {
      return (await o.publicClient.getBlock({ blockNumber: BigInt(n) })).hash?.toLowerCase();
    } catch (e) {
      if ((e as { name?: string }).name === "BlockNotFoundError") return undefined;
      throw e;
    }
  }

  /**
   * The first block to scan. A cursor whose block the chain no longer has (shorter chain, or another
   * block at that height) moves back to the newest recent position the chain still has, or to
   * `fromBlock`; then returns `rolledBack` so the caller forgets what it knew of the chain.
   */
  async function scanStart(): Promise<{ from: number; rolledBack?: { cursor: number; head: number } }> {
    const rows = await all<{ block_number: number | string; block_hash: string | null }>(
      o.db,
      "SELECT block_number, block_hash FROM relayer_cursors WHERE name = ?",
      [CURSOR],
    );
    if (!rows[0]) return { from: o.fromBlock };
    const cursor = Number(rows[0].block_number);
    const hash = await hashAt(cursor);
    // A cursor written before block hashes were kept is trusted as long as the chain reaches it.
    if (hash !== undefined && (rows[0].block_hash === null || hash === rows[0].block_hash.toLowerCase()))
      return { from: cursor + 1 };
    const head = Number(await o.publicClient.getBlockNumber({ cacheTime: 0 }));
    const kept = await all<{ block_number: number | string; block_hash: string }>(
      o.db,
      "SELECT block_number, block_hash FROM relayer_cursor_blocks WHERE name = ? AND block_number < ? ORDER BY block_number DESC",
      [CURSOR, cursor],
    );
    let resume: { n: number; hash: string } | undefined;
    for (const k of kept) {
      const n = Number(k.block_number);
      if (n <= head && (await hashAt(n)) === k.block_hash) {
        resume = { n, hash: k.block_hash };
        break;
      }
    }
    const from = resume ? resume.n + 1 : o.fromBlock;
    await run(o.db, "DELETE FROM relayer_cursor_blocks WHERE name = ? AND block_number >= ?", [CURSOR, from]);
    if (resume) await saveCursor(resume.n, resume.hash);
    else await run(o.db, "DELETE FROM relayer_cursors WHERE name = ?", [CURSOR]);
    return { from, rolledBack: { cursor, head } };
  }

  async function saveCursor(n: number, hash: string) {
    await run(
      o.db,
      "INSERT INTO relayer_cursors (name, block_number, block_hash) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash",
      [CURSOR, n, hash],
    );
    await run(
      o.db,
      "INSERT INTO relayer_cursor_blocks (name, block_number, block_hash) VALUES (?, ?, ?) ON CONFLICT (name, block_number) DO UPDATE SET block_hash = excluded.block_hash",
      [CURSOR, n, hash],
    );
    await run(
      o.db,
      `DELETE FROM relayer_cursor_blocks WHERE name = ? AND block_number < (SELECT MIN(block_number) FROM (SELECT block_number FROM relayer_cursor_blocks WHERE name = ? ORDER BY block_number DESC LIMIT ${CHECKPOINTS}) AS newest)`,
      [CURSOR, CURSOR],
    );
  }

  /** Scans [from, confirmed tip]; returns the last block scanned (from - 1 if none). */
  async function applyEvents(from: number, tip: number): Promise<number> {
    const safe = safeTip(tip);
    while (from <= safe) {
      const to = Math.min(safe, from + (o.maxBlockRange ?? 2000) - 1);
      // Read before the events: if the chain replaces block `to` after this, the next step sees
      // the cursor's hash gone and scans again.
      const hash = await hashAt(to);
      if (hash === undefined) break; // the chain lost blocks since `tip` was read: next step
      for (const { kind, escrowId, chainEventId, blockNumber } of await readEscrowDecisions(
        o.publicClient,
        o.escrow,
        { fromBlock: from, toBlock: to },
      )) {
        await applyDecision(escrowId, kind, chainEventId, blockNumber);
      }
      await saveCursor(to, hash);
      from = to + 1;
    }
    return from - 1;
  }

  /**
   * Checks every pending escrow hold against its escrow's state on chain (a view call, which no lost
   * or missed event can hide): an escrow the chain does not have is forgotten (and so created
   * again); a decided one has its decision event looked up in the blocks the scan has passed
   * (`scanned` and below: a later one is the scan's to apply) and applied.
   */
  async function reconcilePending(scanned: number, sender: TxSender) {
    const creating = new Set(
      (await sender.inFlight("escrow-create")).map((p) => String(p.request.meta?.escrowId)),
    );
    let applied = 0;
    for (const hold of await o.ledger.listOpenEscrowHolds()) {
      const id = hold.escrowId?.toLowerCase() as Hex | undefined;
      if (!id || creating.has(id)) continue;
      const onChain = await findEscrow(o.publicClient, o.escrow, id);
      if (!onChain) {
        known.delete(id);
        failed.delete(id);
        continue;
      }
      if (onChain.state !== "Released" && onChain.state !== "Refunded") continue;
      const kind = onChain.state === "Released" ? "release" : "refund";
      const ev = await findEscrowDecision(o.publicClient, o.escrow, id, kind, {
        fromBlock: o.fromBlock,
        toBlock: scanned,
        maxBlockRange: o.maxBlockRange,
      });
      if (!ev && scanned < o.fromBlock) continue;
      if (!ev) {
        // Decided already at the block the scan reached, yet no event in any scanned block: the
        // chain kept the state and lost the block that changed it. The state is the contract's
        // own word: applied under a derived id (stateDecisionId). Otherwise the event is in a block
        // the scan has not reached (not yet confirmed or saved), and the scan will apply it.
        const then = await findEscrow(o.publicClient, o.escrow, id, scanned);
        if (then?.state !== onChain.state) continue;
        const chainEventId = stateDecisionId(id, kind);
        o.log.warn(
          { escrowId: id, holdId: hold.id, chainEventId, asOfBlock: scanned },
          `escrow ${kind} found in the escrow's state on chain with no event for it in any scanned block; applied from the state`,
        );
        await applyDecision(id, kind, chainEventId, scanned);
        applied++;
        continue;
      }
      o.log.warn(
        { escrowId: id, holdId: hold.id, chainEventId: ev.chainEventId, blockNumber: ev.blockNumber },
        `escrow ${kind} found by its state on chain, not by the event scan`,
      );
      await applyDecision(id, kind, ev.chainEventId, ev.blockNumber);
      applied++;
    }
    reconciledAt = Date.now();
    if (applied) o.log.warn({ applied }, "escrow decisions applied by reconciliation with the chain's state");
  }

  /**
   * Makes the chain hold again each decision the ledger applied from blocks the chain lost (see the
   * function's comment): re-creates a missing escrow, re-sends a settlement the terms allow now,
   * raises `escrow-decision-lost` for one they do not, and clears the mark once the chain agrees.
   */
  async function restoreLost(sender: TxSender) {
    const rows = await all<{
      escrow_id: Hex;
      hold_id: string;
      kind: "release" | "refund";
      chain_event_id: string;
    }>(
      o.db,
      "SELECT escrow_id, hold_id, kind, chain_event_id FROM relayer_escrow_decisions WHERE lost = 1 ORDER BY block_number, escrow_id",
    );
    if (!rows.length) return;
    const inFlight = new Set(
      (
        await Promise.all(
          (["escrow-create", "escrow-release", "escrow-refund"] as const).map((k) => sender.inFlight(k)),
        )
      )
        .flat()
        .map((p) => String(p.request.meta?.escrowId)),
    );
    let paused: boolean | undefined;
    const sent = [];
    for (const r of rows) {
      const id = r.escrow_id;
      if (inFlight.has(id) || unrestorable.has(id)) continue;
      const onChain = await findEscrow(o.publicClient, o.escrow, id);
      if (!onChain) {
        const hold = await o.ledger.getHoldByEscrowId(id);
        if (!hold) continue;
        let terms: EscrowTerms;
        try {
          terms = await termsOf(hold);
        } catch (e) {
          if (!(e instanceof InvalidArgumentError)) throw e;
          await raise("escrow-decision-lost", {
            escrowId: id,
            holdId: r.hold_id,
            chainEventId: r.chain_event_id,
            message: `the chain lost escrow ${id}, whose ${r.kind} the ledger applied, and hold ${r.hold_id} has no valid terms to create it again: ${e.shortMessage}`,
          });
          continue;
        }
        const p = await sendCreate(sender, id, r.hold_id, terms);
        if (p === "CustodyEscrowAlreadyExists") continue; // seen on the next step
        if (typeof p === "string") {
          // The contract refuses these terms now (an expiry already past): the chain cannot hold
          // this decision again. Said once; not tried again until the chain loses blocks again.
          unrestorable.add(id);
          await raise("escrow-decision-lost", {
            escrowId: id,
            holdId: r.hold_id,
            chainEventId: r.chain_event_id,
            message: `the chain lost escrow ${id}, whose ${r.kind} the ledger applied, and refuses to create it again (${p}): the ledger's decision has no escrow on chain`,
          });
          continue;
        }
        sent.push(p);
        o.log.warn(
          { escrowId: id, holdId: r.hold_id },
          "escrow lost by the chain after its decision; creating it again",
        );
        continue;
      }
      const decided =
        onChain.state === "Released" ? "release" : onChain.state === "Refunded" ? "refund" : undefined;
      if (decided === r.kind) {
        // The scan applies (and records) the event when it reaches it; the decision is no longer lost.
        await run(o.db, "UPDATE relayer_escrow_decisions SET lost = 0 WHERE escrow_id = ?", [id]);
        await clearDecisionLost(id);
        continue;
      }
      if (decided) {
        await raise("escrow-decided-otherwise", {
          escrowId: id,
          holdId: r.hold_id,
          chainEventId: r.chain_event_id,
          message: `the ledger applied ${r.kind} of escrow ${id} from blocks the chain lost, and the chain has since decided ${decided}`,
        });
        continue;
      }
      if (onChain.state !== "Open") continue; // disputed: its arbiter decides
      const settlement = await readEscrowSettlement(o.publicClient, o.escrow, id);
      if (settlement === r.kind) {
        const p = await sendSettlement(sender, id, r.hold_id, settlement);
        if (!p) continue;
        sent.push(p);
        o.log.warn(
          { escrowId: id, holdId: r.hold_id, lostChainEventId: r.chain_event_id },
          `escrow ${settlement} lost by the chain; sending it again`,
        );
        continue;
      }
      paused ??= await readEscrowPaused(o.publicClient, o.escrow);
      if (paused) continue; // nothing can be settled now; checked again next step
      await raise("escrow-decision-lost", {
        escrowId: id,
        holdId: r.hold_id,
        chainEventId: r.chain_event_id,
        message: `the ledger applied ${r.kind} of escrow ${id} from blocks the chain lost; its terms allow ${settlement ?? "no settlement"} now, so the escrow's approvers must decide it again`,
      });
    }
    for (const p of sent) {
      await sender.waitMined(p);
      if (p.kind === "escrow-create") known.add(String(p.request.meta?.escrowId));
    }
  }

  return {
    name: "escrow-bridge",
    async run(ctx) {
      metrics ??= ctx.metrics;
      await loadAlarms(true);
      const { from, rolledBack } = await scanStart();
      if (rolledBack) {
        // What was seen on chain may be gone with the lost blocks: escrows created there, terms
        // compared there.
        known.clear();
        failed.clear();
        unrestorable.clear();
        await run(o.db, "UPDATE relayer_escrow_decisions SET lost = 1 WHERE block_number >= ?", [from]);
        o.log.warn(
          { cursor: rolledBack.cursor, chainHead: rolledBack.head, rescanFrom: from },
          "the chain lost blocks the escrow bridge had scanned; scanning again",
        );
      }
      const scanned = await applyEvents(from, ctx.tip);
      // After the event scan, so what it finds is what the scan missed; before creating escrows,
      // so one the chain lost is created again in this step.
      if (
        rolledBack ||
        reconciledAt === undefined ||
        Date.now() - reconciledAt >= (o.reconcileIntervalMs ?? 30_000)
      )
        await reconcilePending(scanned, ctx.sender);
      await restoreLost(ctx.sender);
      await createMissing(ctx.sender);
      await settleDue(ctx.sender);
    },
    alarm(): RelayerAlarm | undefined {
      // The newest one, and how many others wait.
      const a = alarms?.[alarms.length - 1];
      if (!a) return undefined;
      const more = alarms!.length > 1 ? ` (and ${alarms!.length - 1} earlier)` : "";
      return { kind: a.kind, message: a.message + more };
    },
  };
}
