import type { Hex } from "viem";
import type { BankFact, BankFactInput } from "../../src/bank/facts";
import type { BankLedgerPort } from "../../src/bank/bank";
import type { Ledger } from "../../src/ledger";

/**
 * The bank module's ledger port over a real ledger. Facts go to the ledger's `recordFact` once it
 * has one; until then to a map kept here (same idempotency contract).
 */
export function bankPort(ledger: Ledger): BankLedgerPort & { facts(): BankFact[] } {
  const l = ledger as unknown as Partial<BankLedgerPort>;
  const local = new Map<string, BankFact>();
  let seq = 1_000_000;
  return {
    listAccounts: (o) => ledger.listAccounts(o) as ReturnType<BankLedgerPort["listAccounts"]>,
    async recordFact(input: BankFactInput) {
      if (l.recordFact) return l.recordFact(input);
      const prior = local.get(input.id);
      if (prior) {
        if (prior.documentHash !== input.documentHash) throw new Error(`fact ${input.id} conflicts`);
        return prior;
      }
      const f: BankFact = {
        ...input,
        documentHash: input.documentHash.toLowerCase() as Hex,
        sequence: seq++,
        recordedAt: Date.now(),
      };
      local.set(input.id, f);
      return f;
    },
    async getFact(id: string) {
      if (l.getFact) return l.getFact(id);
      const f = local.get(id);
      if (!f) throw new Error(`unknown fact ${id}`);
      return f;
    },
    facts: () => [...local.values()],
  };
}
