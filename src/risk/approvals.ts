import { randomBytes } from "node:crypto";
import { z } from "zod";
import { CustodyError } from "../errors";
import type { JsonValue } from "../ledger";
import {
  APPROVAL_DECISION_FORMAT,
  APPROVAL_EXECUTION_FORMAT,
  APPROVAL_FORMAT,
  RISK_FACT_KINDS,
  documentBytes,
  documentHash,
  factIds,
} from "./documents";
import {
  ApprovalExpiredError,
  ApprovalNotPendingError,
  InvalidRiskInputError,
  MakerCheckerConflictError,
  ReasonRequiredError,
  UnknownApprovalError,
} from "./errors";
import { enqueue, factPayload } from "./outbox";
import { type Body, type SqlRunner, all, get, num, run } from "../db/tx-runner";

/**
 * Dual control (maker-checker). A maker (an `operator` key) proposes a pending operation; a checker
 * (a `checker` key, never the maker) approves or rejects it with a reason; only an approved,
 * unexpired proposal executes, exactly once: the approval is a conditional update that one caller
 * alone can win, and executors are idempotent by approval id, so an execution cut short by a crash
 * is finished by `resumeApproved` without doing anything twice. Every step is a fact.
 */
const Id = z.string().regex(/^[A-Za-z0-9._:@/-]{1,128}$/);
const Amount = z.string().regex(/^[1-9]\d{0,38}$/, "a positive integer of minor units as a string");
const Minor = z.string().regex(/^(0|[1-9]\d{0,38})$/, "a non-negative integer of minor units as a string");

export const OPERATION_PARAMS = {
  unfreeze_account: z.strictObject({ accountId: Id }),
  /** Moves the remaining balance to `sweepToAccountId` (a withdrawal), then closes the account. */
  close_account: z.strictObject({ accountId: Id, sweepToAccountId: Id }),
  withdrawal: z.strictObject({ debitAccountId: Id, creditAccountId: Id, amount: Amount }),
  /** The whole new schedule (src/ledger FeeSchedule, amounts as decimal strings of minor units). */
  fee_schedule_change: z.strictObject({
    schedule: z.record(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      z.strictObject({
        asset: z.string().regex(/^[\x21-\x7e]{1,32}$/),
        fixed: Minor.optional(),
        basisPoints: z.number().int().min(0).max(10_000).optional(),
        min: Minor.optional(),
        max: Minor.optional(),
      }),
    ),
  }),
  rules_change: z.strictObject({ source: z.string().min(1).max(1_000_000) }),
  escrow_override: z.strictObject({
    holdId: Id,
    action: z.enum(["post", "void"]),
    justification: z.string().min(1).max(2000),
  }),
  /** The dual-control thresholds themselves. */
  settings_change: z.strictObject({
    withdrawalThreshold: Amount.optional(),
    expiryMs: z
      .number()
      .int()
      .min(60_000)
      .max(30 * 86_400_000)
      .optional(),
  }),
} as const;
export type Operation = keyof typeof OPERATION_PARAMS;
export const OPERATIONS = Object.keys(OPERATION_PARAMS) as Operation[];

export type ApprovalState = "pending" | "approved" | "rejected" | "expired" | "executed" | "failed";

export interface Approval {
  id: string;
  operation: Operation;
  params: Record<string, JsonValue>;
  maker: string;
  createdAt: number;
  expiresAt: number;
  state: ApprovalState;
  checker?: string;
  decidedAt?: number;
  reason?: string;
  executedAt?: number;
  result?: JsonValue;
  documentHash: string;
}

/** Does the approved operation; must be idempotent by `approvalId` (it may run again after a crash). */
export type Executor = (params: Record<string, JsonValue>, approvalId: string) => Promise<JsonValue>;
export type Executors = Partial<Record<Operation, Executor>>;

export interface DualControlSettings {
  /** Withdrawals above this many minor units need dual control. */
  withdrawalThreshold: bigint;
  /** How long a proposal stays decidable. */
  expiryMs: number;
}
export const DEFAULT_SETTINGS: DualControlSettings = {
  withdrawalThreshold: 5_000_000n,
  expiryMs: 86_400_000,
};

interface Row {
  id: string;
  operation: Operation;
  params: string;
  maker: string;
  created_at: unknown;
  expires_at: unknown;
  state: ApprovalState;
  checker: string | null;
  decided_at: unknown;
  reason: string | null;
  executed_at: unknown;
  result: string | null;
  document_hash: string;
}

function toApproval(r: Row): Approval {
  const a: Approval = {
    id: r.id,
    operation: r.operation,
    params: JSON.parse(r.params) as Record<string, JsonValue>,
    maker: r.maker,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    state: r.state,
    documentHash: r.document_hash,
  };
  if (r.checker !== null) a.checker = r.checker;
  if (r.decided_at !== null) a.decidedAt = num(r.decided_at);
  if (r.reason !== null) a.reason = r.reason;
  if (r.executed_at !== null) a.executedAt = num(r.executed_at);
  if (r.result !== null) a.result = JSON.parse(r.result) as JsonValue;
  return a;
}

export class Approvals {
  readonly #runner: SqlRunner;
  readonly #executors: Executors;
  readonly #clock: () => number;

  constructor(runner: SqlRunner, executors: Executors, clock: () => number = Date.now) {
    this.#runner = runner;
    this.#executors = executors;
    this.#clock = clock;
  }

  async settings(): Promise<DualControlSettings> {
    const rows = await this.#runner.read(() =>
      all<{ key: string; value: string }>("SELECT key, value FROM risk_settings"),
    );
    const m = new Map(rows.map((r) => [r.key, r.value]));
    return {
      withdrawalThreshold: m.has("withdrawalThreshold")
        ? BigInt(m.get("withdrawalThreshold")!)
        : DEFAULT_SETTINGS.withdrawalThreshold,
      expiryMs: m.has("expiryMs") ? Number(m.get("expiryMs")) : DEFAULT_SETTINGS.expiryMs,
    };
  }

  /** Whether a withdrawal of `amount` must go through `/v1/approvals`. */
  async needsDualControl(amount: bigint): Promise<boolean> {
    return amount > (await this.settings()).withdrawalThreshold;
  }

  async propose(operation: Operation, params: unknown, maker: string): Promise<Approval> {
    const schema = (OPERATION_PARAMS as Record<string, z.ZodType>)[operation];
    if (!schema)
      throw new InvalidRiskInputError(`unknown operation ${String(operation)}`, {
        details: `expected one of ${OPERATIONS.join(", ")}`,
      });
    if (!this.#executors[operation])
      throw new InvalidRiskInputError(`operation ${operation} is not available here`);
    const parsed = schema.safeParse(params);
    if (!parsed.success)
      throw new InvalidRiskInputError(`invalid parameters for ${operation}`, {
        details: z.prettifyError(parsed.error),
      });
    if (typeof maker !== "string" || maker.length === 0)
      throw new InvalidRiskInputError("a proposal needs its maker");
    const now = this.#clock();
    const { expiryMs } = await this.settings();
    const id = `ap-${now.toString(36)}-${randomBytes(8).toString("hex")}`;
    const p = parsed.data as Record<string, JsonValue>;
    const doc = documentBytes({
      format: APPROVAL_FORMAT,
      id,
      operation,
      params: p,
      maker,
      createdAt: now,
      expiresAt: now + expiryMs,
    });
    const hash = documentHash(doc);
    await this.#runner.tx(function* () {
      yield* run(
        `INSERT INTO risk_approvals (id, operation, params, maker, created_at, expires_at, state, document, document_hash)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        id,
        operation,
        JSON.stringify(p),
        maker,
        now,
        now + expiryMs,
        doc,
        hash,
      );
      const fid = factIds.proposal(id);
      yield* enqueue(
        "fact",
        fid,
        factPayload({ id: fid, kind: RISK_FACT_KINDS.APPROVAL_PROPOSED, documentHash: hash }),
        now,
      );
    });
    return this.get(id);
  }

  async get(id: string): Promise<Approval> {
    const r = await this.#runner.read(() => get<Row>("SELECT * FROM risk_approvals WHERE id = ?", id));
    if (!r) throw new UnknownApprovalError(id);
    return toApproval(r);
  }

  async list(opts: { state?: ApprovalState; limit?: number } = {}): Promise<Approval[]> {
    const limit = opts.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
      throw new InvalidRiskInputError("limit must be an integer in [1, 1000]");
    const rows = await this.#runner.read(() =>
      opts.state === undefined
        ? all<Row>("SELECT * FROM risk_approvals ORDER BY created_at DESC, id LIMIT ?", limit)
        : all<Row>(
            "SELECT * FROM risk_approvals WHERE state = ? ORDER BY created_at DESC, id LIMIT ?",
            opts.state,
            limit,
          ),
    );
    return rows.map(toApproval);
  }

  /** Records the decision if this caller wins it; throws the reason otherwise. Expiry is recorded too. */
  async #decide(id: string, checker: string, decision: "approved" | "rejected", reason: string | undefined) {
    if (typeof checker !== "string" || checker.length === 0)
      throw new InvalidRiskInputError("a decision needs its checker");
    const now = this.#clock();
    const outcome = await this.#runner.tx(function* (): Body<"decided" | "expired"> {
      const r = yield* get<Row>("SELECT * FROM risk_approvals WHERE id = ?", id);
      if (!r) throw new UnknownApprovalError(id);
      if (r.state !== "pending") throw new ApprovalNotPendingError(id, r.state);
      if (r.maker === checker) throw new MakerCheckerConflictError(id, checker);
      const expired = now >= num(r.expires_at);
      const state = expired ? "expired" : decision;
      const doc = documentBytes({
        format: APPROVAL_DECISION_FORMAT,
        approvalId: id,
        decision: state,
        checker: expired ? null : checker,
        at: now,
        reason: expired ? null : (reason ?? null),
      });
      const hash = documentHash(doc);
      const won = yield* run(
        "UPDATE risk_approvals SET state = ?, checker = ?, decided_at = ?, reason = ? WHERE id = ? AND state = 'pending'",
        state,
        expired ? null : checker,
        now,
        expired ? null : (reason ?? null),
        id,
      );
      if (won !== 1) throw new ApprovalNotPendingError(id, "decided");
      const fid = factIds.decision(id);
      yield* enqueue(
        "fact",
        fid,
        factPayload({ id: fid, kind: RISK_FACT_KINDS.APPROVAL_DECIDED, documentHash: hash }),
        now,
      );
      return expired ? "expired" : "decided";
    });
    if (outcome === "expired") throw new ApprovalExpiredError(id, (await this.get(id)).expiresAt);
  }

  /** Approves and executes. Throws MakerCheckerConflictError, ApprovalExpiredError, ApprovalNotPendingError. */
  async approve(id: string, checker: string): Promise<Approval> {
    await this.#decide(id, checker, "approved", undefined);
    return this.#execute(id);
  }

  async reject(id: string, checker: string, reason: string): Promise<Approval> {
    const r = typeof reason === "string" ? reason.trim() : "";
    if (!r) throw new ReasonRequiredError("rejecting a proposal needs a written reason");
    if (r.length > 2000) throw new InvalidRiskInputError("a reason has at most 2000 characters");
    await this.#decide(id, checker, "rejected", r);
    return this.get(id);
  }

  async #execute(id: string): Promise<Approval> {
    const a = await this.get(id);
    if (a.state !== "approved") return a;
    const exec = this.#executors[a.operation];
    let result: JsonValue;
    let state: ApprovalState = "executed";
    try {
      if (!exec) throw new InvalidRiskInputError(`operation ${a.operation} is not available here`);
      result = await exec(a.params, id);
    } catch (e) {
      // A refusal by the ledger (e.g. insufficient funds) is final; the approval records it.
      // Anything else (a lost connection) leaves it approved, for resumeApproved.
      if (!(e instanceof CustodyError)) throw e;
      state = "failed";
      result = { error: e.code, message: e.shortMessage };
    }
    const now = this.#clock();
    const doc = documentBytes({ format: APPROVAL_EXECUTION_FORMAT, approvalId: id, state, at: now, result });
    const hash = documentHash(doc);
    await this.#runner.tx(function* () {
      const n = yield* run(
        "UPDATE risk_approvals SET state = ?, executed_at = ?, result = ? WHERE id = ? AND state = 'approved'",
        state,
        now,
        JSON.stringify(result),
        id,
      );
      if (n === 1) {
        const fid = factIds.execution(id);
        yield* enqueue(
          "fact",
          fid,
          factPayload({ id: fid, kind: RISK_FACT_KINDS.APPROVAL_EXECUTED, documentHash: hash }),
          now,
        );
      }
    });
    return this.get(id);
  }

  /** Finishes approvals whose execution a crash cut short (executors are idempotent). */
  async resumeApproved(): Promise<number> {
    const rows = await this.#runner.read(() =>
      all<{ id: string }>("SELECT id FROM risk_approvals WHERE state = 'approved'"),
    );
    for (const r of rows) await this.#execute(r.id);
    return rows.length;
  }

  /** Settings executor: the dual-control thresholds change only through an approved proposal. */
  static settingsExecutor(runner: SqlRunner): Executor {
    return async (params) => {
      await runner.tx(function* () {
        for (const [k, v] of Object.entries(params))
          if (v !== undefined && v !== null)
            yield* run(
              "INSERT INTO risk_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
              k,
              String(v),
            );
      });
      return params;
    };
  }
}
