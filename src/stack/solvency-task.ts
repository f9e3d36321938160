import type { Address, Hex } from "viem";
import { commitSnapshotCallData } from "../chain/actions/commit-snapshot";
import { CustodyError } from "../errors";
import type { Ledger } from "../ledger";
import type { RelayerTask } from "../relayer/relayer";
import type { Logger } from "../logging";
import type { TxSender } from "../relayer/tx-sender";
import { snapshotIdOf, type CommitSnapshot, type SolvencySnapshots } from "../solvency";
import { addDays } from "../bank/statement";
import { endOfDay } from "./clock";
import { custodyAssets, endedDays, logSizeAt } from "./business-days";

/** A snapshot commitment transaction was mined but reverted. */
export class SnapshotCommitError extends CustodyError {
  override name = "SnapshotCommitError";
  constructor(message: string, opts: { details?: string } = {}) {
    super("SNAPSHOT_COMMIT_FAILED", message, opts);
  }
}

export interface SnapshotTask extends RelayerTask {
  /** For SolvencySnapshots' `commit`: sends commitSnapshot through the relayer's own sender. */
  commit: CommitSnapshot;
}

/**
 * The daily liabilities snapshot, per asset and ended business day, as a relayer task: it runs in
 * the relayer's loop so its commitments share the relayer's nonces. A day's snapshot covers the log
 * as it stood at the day's cut-off (end of the UTC day), and waits until a final anchor covers
 * that size (the contract requires it). Each snapshot is taken once; taking it again only finishes
 * a fact or commitment a crash interrupted.
 */
export function createSnapshotTask(o: {
  clock: () => number;
  firstDay: string;
  ledger: Pick<Ledger, "eventCount" | "getEvents" | "listAccounts">;
  snapshots: () => SolvencySnapshots;
  anchoredSize: () => Promise<number | undefined>;
  solvency: Address;
  log: Logger;
  onSnapshot?: (s: { asset: string; day: string; logSize: number; rootSum: bigint; commitTx?: Hex }) => void;
}): SnapshotTask {
  let sender: TxSender | undefined;
  let next = o.firstDay;
  return {
    name: "solvency-snapshots",
    async commit(p) {
      if (!sender)
        throw new SnapshotCommitError("no relayer sender: snapshots commit from the relayer's loop");
      const meta = { asset: p.asset, dayNumber: p.dayNumber };
      // A commitment sent before a crash is waited for, not sent twice.
      const inFlight = (await sender.inFlight("solvency-commit")).find(
        (t) => t.request.meta?.asset === p.asset && t.request.meta?.dayNumber === p.dayNumber,
      );
      const pending =
        inFlight ??
        (await sender.send("solvency-commit", { to: o.solvency, data: commitSnapshotCallData(p), meta }));
      const { receipt } = await sender.waitMined(pending);
      if (receipt.status !== "success")
        throw new SnapshotCommitError(`commitSnapshot of ${p.asset} day ${p.dayNumber} reverted`, {
          details: pending.txHash,
        });
      return pending.txHash;
    },
    async run(ctx) {
      sender = ctx.sender;
      const anchored = await o.anchoredSize();
      if (anchored === undefined) return;
      const assets = await custodyAssets(o.ledger);
      for (const day of endedDays(next, o.clock())) {
        for (const asset of assets) {
          const snapshots = o.snapshots();
          const known = await snapshots.find(snapshotIdOf(asset, day));
          if (known?.commitTx) continue;
          const logSize = known?.logSize ?? (await logSizeAt(o.ledger, endOfDay(day)));
          if (logSize > anchored) return; // the next anchor will cover it
          const s = await snapshots.take({ asset, day, logSize });
          o.log.info(
            {
              asset,
              day,
              logSize,
              rootSum: s.rootSum.toString(),
              txHash: s.commitTx,
            },
            "liabilities snapshot committed",
          );
          o.onSnapshot?.({ asset, day, logSize, rootSum: s.rootSum, commitTx: s.commitTx });
        }
        next = addDays(day, 1);
      }
    },
  };
}
