import type { Hex } from "viem";
import type { OnChainEscrow } from "../chain/actions/read-escrow";
import { assetToBytes32 } from "../protocol/leaf-v1";
import type { FindingList } from "./findings";
import type { ReplayedHold } from "./replay";

/** Which on-chain escrow states each ledger hold status may face. */
const ALLOWED: Record<ReplayedHold["status"], readonly OnChainEscrow["state"][]> = {
  posted: ["Released"],
  voided: ["Refunded"],
  pending: ["Open", "Disputed"],
};

/**
 * Every escrow hold resolved as the chain decided: a posted hold faces a Released escrow, a voided
 * one a Refunded escrow, a pending one an Open (or Disputed) escrow; the escrow's payer, asset and
 * amount are the hold's, and a release paid the escrow's payee. `onChain` maps escrow id → escrow
 * (undefined when the chain has none).
 */
export function checkEscrows(
  holds: readonly ReplayedHold[],
  onChain: ReadonlyMap<Hex, OnChainEscrow | undefined>,
  findings: FindingList,
): { checked: number; released: number; refunded: number; open: number } {
  const out = { checked: 0, released: 0, refunded: 0, open: 0 };
  for (const h of holds) {
    const id = h.escrowId!;
    const e = onChain.get(id);
    const index = h.resolvedIndex ?? h.index;
    out.checked++;
    if (!e || e.state === "None") {
      findings.add({
        check: "escrow_state",
        message: `escrow hold created at ${h.index} (${h.status}) has no escrow on chain`,
        index,
        escrowId: id,
      });
      continue;
    }
    if (!ALLOWED[h.status].includes(e.state)) {
      // A pending hold facing a closed escrow lacks an event: no event of the log is wrong itself.
      findings.add({
        check: "escrow_state",
        message: `escrow hold created at ${h.index} is ${h.status} in the ledger but ${e.state} on chain`,
        ...(h.status === "pending" ? {} : { index }),
        escrowId: id,
      });
      continue;
    }
    const wrong: string[] = [];
    if (e.payer.toLowerCase() !== h.debit) wrong.push("payer");
    if (e.amount !== h.amount) wrong.push(`amount (chain ${e.amount}, ledger ${h.amount})`);
    if (e.asset.toLowerCase() !== assetToBytes32(h.asset)) wrong.push("asset");
    if (h.status === "posted" && h.payee !== undefined && e.payee.toLowerCase() !== h.payee)
      wrong.push("payee");
    if (wrong.length) {
      findings.add({
        check: "escrow_state",
        message: `escrow hold created at ${h.index} differs from its escrow on chain: ${wrong.join(", ")}`,
        index,
        escrowId: id,
      });
      continue;
    }
    if (h.status === "posted") out.released++;
    else if (h.status === "voided") out.refunded++;
    else out.open++;
  }
  return out;
}
