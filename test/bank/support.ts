import type { BankLedgerPort } from "../../src/bank/bank";
import type { Ledger } from "../../src/ledger";

/** The ledger as the bank module's port (facts go to the ledger's log). */
export function bankPort(ledger: Ledger): BankLedgerPort {
  return ledger;
}

/** Opens the EUR mirror of the custodian's account `iban` ("bank-eur") and the given customers. */
export async function openMirrorAndCustomers(
  ledger: Ledger,
  iban: string,
  customers: string[] = ["alice"],
): Promise<void> {
  await ledger.openAccount({
    id: "bank-eur",
    type: "bank_mirror",
    asset: "EUR",
    scale: 2,
    metadata: { bankAccount: iban },
  });
  for (const id of customers) await ledger.openAccount({ id, type: "customer", asset: "EUR", scale: 2 });
}
