import {
  BaseError,
  ContractFunctionRevertedError,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { approveEscrowAsCustodian } from "../chain/actions/approve-escrow-as-custodian";
import { readEscrow } from "../chain/actions/read-escrow";
import { resolveEscrowDispute } from "../chain/actions/resolve-escrow-dispute";
import type { FeeRule, FeeSchedule, JsonValue, Ledger } from "../ledger";
import { Approvals, type Executor, type Executors } from "./approvals";
import type { RiskEngine } from "./engine";
import { EscrowOverrideNotAllowedError, InvalidRuleFileError } from "./errors";
import { compileRuleFile } from "./rules-file";
import { type SqlRunner, all } from "../db/tx-runner";

/**
 * The executors of the operations the risk module can do itself, against the ledger and the rules
 * engine. Each is idempotent by approval id (transfer ids derive from it; status changes and rule
 * activations check what is already in force). The fee schedule change is applied to the ledger
 * and stored (risk_settings `feeSchedule`, read back by `storedFeeSchedule` at start); the escrow
 * override is available when `escrow` (the custodian's key on CustodyEscrow) is given.
 */
export function ledgerExecutors(
  ledger: Pick<Ledger, "setAccountStatus" | "getBalance" | "transfer" | "setFeeSchedule" | "getHold">,
  engine: RiskEngine,
  extra: Executors = {},
  escrow?: EscrowOverrideChain,
): Executors {
  return {
    fee_schedule_change: feeScheduleExecutor(ledger, engine.runner),
    ...(escrow ? { escrow_override: escrowOverrideExecutor(ledger, escrow) } : {}),
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

/** risk_settings key of the fee schedule in force (canonical JSON, amounts as decimal strings). */
export const FEE_SCHEDULE_SETTING = "feeSchedule";

type FeeScheduleJson = Record<
  string,
  { asset: string; fixed?: string; basisPoints?: number; min?: string; max?: string }
>;

function feeScheduleOf(json: FeeScheduleJson): FeeSchedule {
  const out: Record<string, FeeRule> = {};
  const amount = (v: string | undefined) => (v === undefined ? undefined : BigInt(v));
  for (const [code, r] of Object.entries(json))
    out[code] = {
      asset: r.asset,
      fixed: amount(r.fixed),
      basisPoints: r.basisPoints,
      min: amount(r.min),
      max: amount(r.max),
    };
  return out;
}

/** The fee schedule last set by an approved change, if any (the stack applies it over its config at start). */
export async function storedFeeSchedule(runner: SqlRunner): Promise<FeeSchedule | undefined> {
  const [r] = await runner.read(() =>
    all<{ value: string }>("SELECT value FROM risk_settings WHERE key = ?", FEE_SCHEDULE_SETTING),
  );
  return r ? feeScheduleOf(JSON.parse(r.value) as FeeScheduleJson) : undefined;
}

/** Replaces the whole fee schedule: stored first (so a restart keeps it), then put in force. Idempotent. */
function feeScheduleExecutor(ledger: Pick<Ledger, "setFeeSchedule">, runner: SqlRunner): Executor {
  const store = Approvals.settingsExecutor(runner);
  return async (params, approvalId) => {
    const json = params.schedule as FeeScheduleJson;
    const schedule = feeScheduleOf(json);
    await store({ [FEE_SCHEDULE_SETTING]: JSON.stringify(json) }, approvalId);
    ledger.setFeeSchedule(schedule);
    return { feeCodes: Object.keys(json).sort() };
  };
}

/** The custodian's side of CustodyEscrow, for escrow overrides. */
export interface EscrowOverrideChain {
  publicClient: PublicClient;
  /** A key holding CUSTODIAN_ROLE on the escrow contract. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  escrow: Address;
}

/**
 * Decides an escrow hold on chain with the custodian's powers, as CustodyEscrow allows them: a
 * disputed escrow is resolved (`post` releases to the payee, `void` refunds the payer); an open
 * escrow waiting for the custodian's approval gets it (`post`). Anything else is refused
 * (EscrowOverrideNotAllowedError). The ledger follows the chain's decision through the escrow
 * bridge, as for any escrow. Idempotent: an escrow already in the wanted state sends nothing.
 */
export function escrowOverrideExecutor(
  ledger: Pick<Ledger, "getHold">,
  chain: EscrowOverrideChain,
): Executor {
  return async (params) => {
    const holdId = params.holdId as string;
    const post = params.action === "post";
    const hold = await ledger.getHold(holdId);
    if (!hold.escrowId) throw new EscrowOverrideNotAllowedError(holdId, "not an escrow hold");
    const escrowId = hold.escrowId;
    const before = await readEscrow(chain.publicClient, chain.escrow, escrowId);
    const wanted = post ? "Released" : "Refunded";
    if (before.state === wanted) return { holdId, escrowId, state: before.state, tx: null };
    const p = {
      publicClient: chain.publicClient,
      walletClient: chain.walletClient,
      escrow: chain.escrow,
      escrowId,
    };
    let send: () => Promise<TransactionReceipt>;
    if (before.state === "Disputed") send = () => resolveEscrowDispute({ ...p, releaseToPayee: post });
    else if (before.state === "Open" && post && before.custodianApprovalRequired && !before.custodianApproved)
      send = () => approveEscrowAsCustodian(p);
    else
      throw new EscrowOverrideNotAllowedError(holdId, before.state, {
        details: `the custodian can resolve a disputed escrow, or approve an open one that waits for it; wanted ${wanted}`,
      });
    let receipt: TransactionReceipt;
    try {
      receipt = await send();
    } catch (e) {
      // A revert is the contract's final answer; anything else (a lost node) is retried later.
      const reverted = e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError);
      if (!reverted) throw e;
      throw new EscrowOverrideNotAllowedError(holdId, before.state, { details: e.shortMessage, cause: e });
    }
    if (receipt.status !== "success")
      throw new EscrowOverrideNotAllowedError(holdId, before.state, {
        details: `transaction ${receipt.transactionHash} reverted`,
      });
    const after = await readEscrow(chain.publicClient, chain.escrow, escrowId);
    const result: { [k: string]: JsonValue } = {
      holdId,
      escrowId: escrowId as Hex,
      state: after.state,
      tx: receipt.transactionHash,
    };
    return result;
  };
}
