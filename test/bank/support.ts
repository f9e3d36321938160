import type { BankLedgerPort } from "../../src/bank/bank";
import type { Ledger } from "../../src/ledger";

/** The ledger as the bank module's port (facts go to the ledger's log). */
export function bankPort(ledger: Ledger): BankLedgerPort {
  return ledger;
}
