import type { LedgerMovement } from "./reconcile";
import type { BankStatement, StatementEntry } from "./statement";

/**
 * What a faithful custodian bank books for the ledger's movements on the mirror account: one
 * booked entry per movement, same direction, amount, value date and end-to-end id. The demo's
 * simulated bank and the tests start from this and then leave something out. Pure.
 */
export interface DeriveStatementInput {
  id: string;
  account: string;
  currency: string;
  exponent: number;
  day: string;
  opening: bigint;
  openingDate: string;
  cutoff: number;
  movements: readonly LedgerMovement[];
  /** Prefix of the entries' account-servicer references (default `SIM-<day>`); a bank sending several statements a day keeps them unique. */
  servicerRefPrefix?: string;
}

export function deriveStatement(i: DeriveStatementInput): BankStatement {
  let closing = i.opening;
  const prefix = i.servicerRefPrefix ?? `SIM-${i.day.replace(/-/g, "")}`;
  const entries: StatementEntry[] = i.movements.map((m, index) => {
    closing += m.direction === "credit" ? m.amount : -m.amount;
    return {
      index,
      amount: m.amount,
      direction: m.direction,
      status: "booked",
      reversal: m.reversal,
      bookingDate: i.day,
      valueDate: m.valueDate,
      endToEndId: m.endToEndId,
      accountServicerRef: `${prefix}-${String(index + 1).padStart(6, "0")}`,
    };
  });
  return {
    id: i.id,
    account: i.account,
    currency: i.currency,
    exponent: i.exponent,
    page: 1,
    lastPage: true,
    toDateTime: new Date(i.cutoff).toISOString(),
    opening: { type: "OPBD", amount: i.opening, date: i.openingDate },
    closing: { type: "CLBD", amount: closing, date: i.day },
    entries,
  };
}
