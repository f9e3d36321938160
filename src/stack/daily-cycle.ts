import type { Address, Hex, PublicClient } from "viem";
import { attestReserves } from "../chain/actions/attest-reserves";
import { readSolvencyDay } from "../chain/actions/read-solvency-day";
import type { SigningClients } from "../chain/dev";
import type { CustodianBank, StoredReconciliation } from "../bank";
import type { StatementInbox } from "../bank/inbox";
import { StatementIncompleteError, UnknownReconciliationError } from "../bank";
import { dayNumberOf } from "../protocol/balance-proof-v1";
import type { Logger } from "../logging";
import type { SolvencyWatcher } from "../solvency";
import { endedDays } from "./business-days";
import type { SimulatedBankDay } from "./simulated-bank";

/**
 * The stack's daily cycle, run every `cycleIntervalMs`: once a business day has ended,
 * 1. the simulated bank (demo/tests) sends that day's statements into the inbox;
 * 2. every day with a complete, logged statement is reconciled per custody account, and again when
 *    another statement of that day is logged (a custodian may send several a day; they chain, and a
 *    gap in the chain is a `statement_gap` break of the report, see docs/reconciliation-v1.md). A
 *    day whose statement still misses pages waits, logged once (a re-run with the same inputs stores
 *    nothing new, see CustodianBank.reconcile);
 * 3. on the embedded chain the dev custodian key, playing the bank, attests each reconciled day's
 *    closing balance and the SHA-256 of the stored statement it comes from (outside the embedded
 *    stack that is the bank's own job: docs/operations.md);
 * 4. the solvency watcher reads new attestations and shortfalls from the chain.
 * Liabilities snapshots run in the relayer's loop (solvency-task.ts).
 */
export interface DailyCycleEvent {
  kind: "statement-sent" | "reconciled" | "attested";
  day: string;
  detail: SimulatedBankDay | StoredReconciliation | { asset: string; reserves: bigint; txHash: Hex };
}

export interface DailyCycle {
  runOnce(): Promise<void>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function createDailyCycle(o: {
  clock: () => number;
  firstDay: string;
  bank: CustodianBank;
  inbox: StatementInbox;
  simulatedBank?: { sendDay(day: string): Promise<SimulatedBankDay[]> };
  /** The bank's key (embedded chain only). */
  custodian?: SigningClients;
  publicClient: PublicClient;
  solvency?: Address;
  watcher?: SolvencyWatcher;
  /** The embedded bank attests a day once the platform's snapshot of it is on chain (default: at once). */
  snapshotCommitted?: (asset: string, day: string) => Promise<boolean>;
  log: Logger;
  onEvent?: (e: DailyCycleEvent) => void;
}): DailyCycle {
  let sentThrough = o.firstDay;
  /** Per account and day: the newest statement fact the day was reconciled (and attested) with. */
  const reconciled = new Map<string, number>();
  /** Per account and day: the last incompleteness reported, so a waiting day is logged once. */
  const waiting = new Map<string, string>();
  const attested = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function reconciliations(day: string): Promise<StoredReconciliation[]> {
    try {
      return await o.bank.getReconciliations(day);
    } catch (e) {
      if (e instanceof UnknownReconciliationError) return [];
      throw e;
    }
  }

  /** True once the day needs nothing more from the bank. */
  async function attest(r: StoredReconciliation): Promise<boolean> {
    const key = `${r.report.currency}|${r.day}`;
    if (!o.custodian || !o.solvency || attested.has(key)) return true;
    if (o.snapshotCommitted && !(await o.snapshotCommitted(r.report.currency, r.day))) return false;
    const dayNumber = dayNumberOf(r.day);
    const onChain = await readSolvencyDay(o.publicClient, {
      address: o.solvency,
      asset: r.report.currency,
      dayNumber,
    });
    if (!onChain.reserves) {
      const reserves = BigInt(r.report.balances.bank);
      const statementHash = r.report.statements[r.report.statements.length - 1].documentHash;
      const txHash = await attestReserves(o.custodian, {
        address: o.solvency,
        asset: r.report.currency,
        dayNumber,
        reserves,
        statementHash,
      });
      o.log.info(
        {
          asset: r.report.currency,
          day: r.day,
          reserves: reserves.toString(),
          txHash,
        },
        "custodian attested reserves",
      );
      o.onEvent?.({ kind: "attested", day: r.day, detail: { asset: r.report.currency, reserves, txHash } });
    }
    attested.add(key);
    return true;
  }

  async function runOnce(): Promise<void> {
    const now = o.clock();
    if (o.simulatedBank) {
      for (const day of endedDays(sentThrough, now)) {
        for (const sent of await o.simulatedBank.sendDay(day))
          o.onEvent?.({ kind: "statement-sent", day, detail: sent });
        sentThrough = day;
      }
    }
    await o.inbox.scan();
    for (const { ledgerAccount, day, latestFact } of await o.bank.statementDays()) {
      const key = `${ledgerAccount}|${day}`;
      if ((reconciled.get(key) ?? -1) >= latestFact) continue;
      let done = (await reconciliations(day)).find((r) => r.ledgerAccount === ledgerAccount);
      // A statement of the day logged after the stored run (several statements a day): run again.
      if (done && done.factSequence < latestFact) done = undefined;
      if (!done) {
        try {
          [done] = await o.bank.reconcile(day, { ledgerAccount });
        } catch (e) {
          // Pages still missing: the day waits for them. Said once, not on every cycle.
          if (!(e instanceof StatementIncompleteError)) throw e;
          if (waiting.get(key) !== e.message) {
            waiting.set(key, e.message);
            o.log.warn({ day, ledgerAccount, error: e.message }, "statement incomplete; the day waits");
          }
          continue;
        }
        waiting.delete(key);
        o.log.info(
          {
            day,
            ledgerAccount,
            breaks: done.report.breaks.length,
            reportHash: done.reportHash,
          },
          "day reconciled",
        );
        o.onEvent?.({ kind: "reconciled", day, detail: done });
      }
      if (await attest(done)) reconciled.set(key, latestFact);
    }
    await o.watcher?.poll();
  }

  // One pass at a time: a caller while a pass runs gets its own pass after it.
  let chain: Promise<void> = Promise.resolve();
  const runSerial = (): Promise<void> => {
    const p = chain.catch(() => {}).then(runOnce);
    chain = p;
    return p;
  };

  return {
    runOnce: runSerial,
    start(intervalMs) {
      const loop = () => {
        if (stopped) return;
        void runSerial()
          .catch((e) => o.log.error({ error: String(e) }, "daily cycle failed; retrying"))
          .finally(() => {
            if (!stopped) timer = setTimeout(loop, intervalMs);
          });
      };
      loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain.catch(() => {});
    },
  };
}
