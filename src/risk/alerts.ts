import { ALERT_TRANSITION_FORMAT, RISK_FACT_KINDS, documentBytes, documentHash, factIds } from "./documents";
import {
  InvalidAlertTransitionError,
  InvalidRiskInputError,
  ReasonRequiredError,
  UnknownAlertError,
} from "./errors";
import { enqueue, factPayload } from "./outbox";
import { type Body, type SqlRunner, all, get, num, run } from "../db/tx-runner";

/**
 * Alerts and their review. Lifecycle: open → under_review → dismissed | confirmed | escalated.
 * Dismissal needs a written reason; every transition records who (the API key id) and when, and
 * becomes an ALERT_TRANSITIONED fact through the outbox written in the same transaction.
 */
export const ALERT_STATES = ["open", "under_review", "dismissed", "confirmed", "escalated"] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const DISPOSED_STATES: readonly AlertState[] = ["dismissed", "confirmed", "escalated"];

const NEXT: Record<AlertState, readonly AlertState[]> = {
  open: ["under_review"],
  under_review: ["dismissed", "confirmed", "escalated"],
  dismissed: [],
  confirmed: [],
  escalated: [],
};

export interface AlertTransition {
  n: number;
  from: AlertState;
  to: AlertState;
  by: string;
  at: number;
  reason?: string;
  documentHash: string;
}

export interface Alert {
  id: string;
  ruleId: string;
  ruleType: string;
  rulesRevision: number;
  severity: string;
  action: string;
  outcome: "triggered" | "cannot_evaluate";
  subject: string;
  window: string;
  sequence: number;
  raisedAt: number;
  details: Record<string, string>;
  state: AlertState;
  updatedAt: number;
  /** SHA-256 of the alert's canonical document (the ALERT_RAISED fact's documentHash). */
  documentHash: string;
  transitions?: AlertTransition[];
}

export interface AlertFilter {
  state?: AlertState;
  ruleId?: string;
  /** The alert's subject (an account id for customer rules). */
  subject?: string;
  /** raisedAt ≥ from and < to (ms). */
  from?: number;
  to?: number;
  limit?: number;
  /** Keyset paging: alerts raised after this (raisedAt, id) pair. */
  after?: { raisedAt: number; id: string };
}

interface AlertRow {
  id: string;
  state: AlertState;
  updated_at: unknown;
  transitions: unknown;
  document: string;
  document_hash: string;
}

function toAlert(r: AlertRow): Alert {
  const d = JSON.parse(r.document) as Omit<Alert, "state" | "updatedAt" | "documentHash">;
  return {
    id: d.id,
    ruleId: d.ruleId,
    ruleType: d.ruleType,
    rulesRevision: d.rulesRevision,
    severity: d.severity,
    action: d.action,
    outcome: d.outcome,
    subject: d.subject,
    window: d.window,
    sequence: d.sequence,
    raisedAt: d.raisedAt,
    details: d.details,
    state: r.state,
    updatedAt: num(r.updated_at),
    documentHash: r.document_hash,
  };
}

const COLS = "id, state, updated_at, transitions, document, document_hash";

export async function listAlerts(runner: SqlRunner, f: AlertFilter): Promise<Alert[]> {
  const where: string[] = [];
  const p: unknown[] = [];
  if (f.state !== undefined) {
    if (!ALERT_STATES.includes(f.state))
      throw new InvalidRiskInputError(`unknown alert state ${String(f.state)}`);
    where.push("state = ?");
    p.push(f.state);
  }
  if (f.ruleId !== undefined) (where.push("rule_id = ?"), p.push(f.ruleId));
  if (f.subject !== undefined) (where.push("subject = ?"), p.push(f.subject));
  if (f.from !== undefined) (where.push("raised_at >= ?"), p.push(f.from));
  if (f.to !== undefined) (where.push("raised_at < ?"), p.push(f.to));
  if (f.after)
    (where.push("(raised_at > ? OR (raised_at = ? AND id > ?))"),
      p.push(f.after.raisedAt, f.after.raisedAt, f.after.id));
  const limit = f.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidRiskInputError("limit must be an integer in [1, 1000]");
  const sql = `SELECT ${COLS} FROM risk_alerts ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY raised_at, id LIMIT ?`;
  const rows = await runner.read(() => all<AlertRow>(sql, ...p, limit));
  return rows.map(toAlert);
}

export async function getAlert(runner: SqlRunner, id: string): Promise<Alert> {
  const { row, ts } = await runner.read(function* () {
    const row = yield* get<AlertRow>(`SELECT ${COLS} FROM risk_alerts WHERE id = ?`, id);
    const ts = yield* all<Record<string, unknown>>(
      "SELECT n, from_state, to_state, by_key, at, reason, document_hash FROM risk_alert_transitions WHERE alert_id = ? ORDER BY n",
      id,
    );
    return { row, ts };
  });
  if (!row) throw new UnknownAlertError(id);
  const a = toAlert(row);
  a.transitions = ts.map((t) => ({
    n: num(t.n),
    from: t.from_state as AlertState,
    to: t.to_state as AlertState,
    by: t.by_key as string,
    at: num(t.at),
    ...(t.reason === null ? {} : { reason: t.reason as string }),
    documentHash: t.document_hash as string,
  }));
  return a;
}

export interface TransitionInput {
  to: AlertState;
  /** The API key id of whoever makes the step. */
  by: string;
  reason?: string;
}

/** Moves an alert one step along its lifecycle; the step and its fact are written together. */
export async function transitionAlert(
  runner: SqlRunner,
  id: string,
  input: TransitionInput,
  now: number,
): Promise<Alert> {
  if (!ALERT_STATES.includes(input.to))
    throw new InvalidRiskInputError(`unknown alert state ${String(input.to)}`);
  if (typeof input.by !== "string" || input.by.length === 0)
    throw new InvalidRiskInputError("a transition needs who makes it");
  const reason = typeof input.reason === "string" ? input.reason.trim() : undefined;
  if (reason !== undefined && reason.length > 2000)
    throw new InvalidRiskInputError("a reason has at most 2000 characters");
  if (input.to === "dismissed" && !reason)
    throw new ReasonRequiredError("dismissing an alert needs a written reason");
  await runner.tx(function* (): Body<void> {
    const row = yield* get<{ state: AlertState; transitions: unknown }>(
      "SELECT state, transitions FROM risk_alerts WHERE id = ?",
      id,
    );
    if (!row) throw new UnknownAlertError(id);
    if (!NEXT[row.state].includes(input.to)) throw new InvalidAlertTransitionError(id, row.state, input.to);
    const n = num(row.transitions) + 1;
    const doc = documentBytes({
      format: ALERT_TRANSITION_FORMAT,
      alertId: id,
      n,
      from: row.state,
      to: input.to,
      by: input.by,
      at: now,
      reason: reason ?? null,
    });
    const hash = documentHash(doc);
    // The state in the WHERE makes a concurrent second step fail instead of overwrite.
    const changed = yield* run(
      "UPDATE risk_alerts SET state = ?, updated_at = ?, transitions = ? WHERE id = ? AND state = ? AND transitions = ?",
      input.to,
      now,
      n,
      id,
      row.state,
      row.transitions,
    );
    if (changed !== 1) throw new InvalidAlertTransitionError(id, row.state, input.to);
    yield* run(
      `INSERT INTO risk_alert_transitions (alert_id, n, from_state, to_state, by_key, at, reason, document, document_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      n,
      row.state,
      input.to,
      input.by,
      now,
      reason ?? null,
      doc,
      hash,
    );
    const fid = factIds.transition(id, n);
    yield* enqueue(
      "fact",
      fid,
      factPayload({ id: fid, kind: RISK_FACT_KINDS.ALERT_TRANSITIONED, documentHash: hash }),
      now,
    );
  });
  return getAlert(runner, id);
}

/** Alerts per rule per bucket of `bucketMs` (for the operator page's chart). */
export async function alertCountsByRule(
  runner: SqlRunner,
  from: number,
  to: number,
  bucketMs: number,
): Promise<{ ruleId: string; bucket: number; count: number }[]> {
  const rows = await runner.read(() =>
    all<{ rule_id: string; raised_at: unknown }>(
      "SELECT rule_id, raised_at FROM risk_alerts WHERE raised_at >= ? AND raised_at < ? ORDER BY raised_at LIMIT 100000",
      from,
      to,
    ),
  );
  const m = new Map<string, { ruleId: string; bucket: number; count: number }>();
  for (const r of rows) {
    const bucket = Math.floor(num(r.raised_at) / bucketMs) * bucketMs;
    const k = `${r.rule_id}|${bucket}`;
    const e = m.get(k);
    if (e) e.count++;
    else m.set(k, { ruleId: r.rule_id, bucket, count: 1 });
  }
  return [...m.values()];
}
