import type { Hex } from "viem";
import { ACCOUNT_TYPES } from "../ledger/types";
import type { LeafEntry } from "../protocol/leaf-v1";

/**
 * Customer liabilities replayed from log entries alone: the posted balance (credits − debits) of
 * every customer sub-account, per asset. Platform funds, fees, escrow, the bank mirror and
 * settlement never enter. A pending hold does not move posted money, so it stays in the
 * customer's balance until it is posted. Pure: feed entries in log order.
 */
export class LiabilitiesFold {
  readonly #customers = new Map<Hex, { asset: string; balance: bigint }>();
  #applied = 0;

  get applied(): number {
    return this.#applied;
  }

  apply(e: LeafEntry): void {
    this.#applied++;
    switch (e.eventType) {
      case "ACCOUNT_OPENED":
        if (e.code === ACCOUNT_TYPES.customer)
          this.#customers.set(e.entryId, { asset: e.asset, balance: 0n });
        return;
      case "TRANSFER_POSTED":
      case "HOLD_POSTED": {
        const debit = this.#customers.get(e.debitAccount);
        if (debit) debit.balance -= e.amount;
        const credit = this.#customers.get(e.creditAccount);
        if (credit) credit.balance += e.amount;
        return;
      }
      default:
        return;
    }
  }

  /** Customer accounts of `asset` with their balances (possibly negative if the log is bad), by pseudonym. */
  balances(asset: string): { pseudonym: Hex; balance: bigint }[] {
    const out: { pseudonym: Hex; balance: bigint }[] = [];
    for (const [pseudonym, c] of this.#customers)
      if (c.asset === asset) out.push({ pseudonym, balance: c.balance });
    return out.sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : a.pseudonym > b.pseudonym ? 1 : 0));
  }

  /** Every asset with at least one customer account. */
  assets(): string[] {
    return [...new Set([...this.#customers.values()].map((c) => c.asset))].sort();
  }
}
