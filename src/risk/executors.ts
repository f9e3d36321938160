import type { Ledger } from "../ledger";
import { Approvals, type Executors } from "./approvals";
import type { RiskEngine } from "./engine";
import { InvalidRuleFileError } from "./errors";
import { compileRuleFile } from "./rules-file";

/**
 * The executors of the operations the risk module can do itself, against the ledger and the rules
 * engine. Each is idempotent by approval id (transfer ids derive from it; status changes and rule
 * activations check what is already in force). Fee schedule changes and escrow overrides belong to
 * the process that owns them (src/stack) and are passed in by it.
 */
export function ledgerExecutors(
  ledger: Pick<Ledger, "setAccountStatus" | "getBalance" | "transfer">,
  engine: RiskEngine,
  extra: Executors = {},
): Executors {
  return {
    unfreeze_account: async (p) => {
      const a = await ledger.setAccountStatus(p.accountId as string, "active");
      return { accountId: a.id, status: a.status };
    },
    close_account: async (p, id) => {
      const accountId = p.accountId as string;
      const { posted } = await ledger.getBalance(accountId);
      let swept = "0";
      if (posted > 0n) {
        const t = await ledger.transfer({
          id: `approval:${id}:sweep`,
          debitAccountId: accountId,
          creditAccountId: p.sweepToAccountId as string,
          amount: posted,
          kind: "withdrawal",
        });
        swept = t.amount.toString();
      }
      const a = await ledger.setAccountStatus(accountId, "closed");
      return { accountId: a.id, status: a.status, swept };
    },
    withdrawal: async (p, id) => {
      const t = await ledger.transfer({
        id: `approval:${id}`,
        debitAccountId: p.debitAccountId as string,
        creditAccountId: p.creditAccountId as string,
        amount: p.amount as string,
        kind: "withdrawal",
      });
      return { transferId: t.id, sequence: t.sequence };
    },
    rules_change: async (p, id) => {
      const wanted = compileRuleFile(p.source as string);
      try {
        await engine.reloadRules(p.source as string, id);
      } catch (e) {
        // Already activated by an execution a crash cut short.
        const active = await engine.activeRules();
        if (!(e instanceof InvalidRuleFileError) || active.sourceHash !== wanted.sourceHash) throw e;
      }
      return { revision: wanted.revision, sourceHash: wanted.sourceHash };
    },
    settings_change: Approvals.settingsExecutor(engine.runner),
    ...extra,
  };
}
