import { DISPOSED_STATES, type AlertState } from "./alerts";
import { RISK_FACT_KINDS, documentHash, factIds } from "./documents";
import type { FactKind } from "../ledger";
import type { Fact, FactPort } from "./ports";
import { type SqlRunner, all, num } from "../db/tx-runner";

/**
 * The audit of the risk trail: every stored alert, transition and approval document must re-hash
 * to its fact on the log, each alert's state must be what its logged transitions lead to, and
 * every alert must be disposed (dismissed, confirmed, escalated) or still open / under review.
 * Facts still in the outbox (not yet on the log) are reported as pending, not as findings.
 */
export interface RiskAuditFinding {
  check:
    "document_hash" | "fact_missing" | "fact_mismatch" | "state_mismatch" | "invalid_state" | "orphan_fact";
  id: string;
  message: string;
}

export interface RiskAuditReport {
  ok: boolean;
  alerts: number;
  transitions: number;
  approvals: number;
  open: number;
  disposed: number;
  pendingFacts: number;
  findings: RiskAuditFinding[];
}

const VALID: readonly AlertState[] = ["open", "under_review", ...DISPOSED_STATES];

async function allFacts(facts: FactPort, kind: FactKind): Promise<Map<string, Fact>> {
  const m = new Map<string, Fact>();
  let after = -1;
  for (;;) {
    const page = await facts.listFacts({ kind, afterSequence: after, limit: 10_000 });
    for (const f of page) m.set(f.id, f);
    if (page.length < 10_000) return m;
    after = page[page.length - 1].sequence;
  }
}

export async function auditRisk(runner: SqlRunner, facts: FactPort): Promise<RiskAuditReport> {
  const { alerts, transitions, approvals, pending } = await runner.read(function* () {
    const alerts = yield* all<{
      id: string;
      state: string;
      transitions: unknown;
      document: string;
      document_hash: string;
    }>("SELECT id, state, transitions, document, document_hash FROM risk_alerts ORDER BY id");
    const transitions = yield* all<{
      alert_id: string;
      n: unknown;
      from_state: string;
      to_state: string;
      document: string;
      document_hash: string;
    }>(
      "SELECT alert_id, n, from_state, to_state, document, document_hash FROM risk_alert_transitions ORDER BY alert_id, n",
    );
    const approvals = yield* all<{ id: string; document: string; document_hash: string }>(
      "SELECT id, document, document_hash FROM risk_approvals ORDER BY id",
    );
    const pending = yield* all<{ ref: string }>(
      "SELECT ref FROM risk_outbox WHERE kind = 'fact' AND done_at IS NULL",
    );
    return { alerts, transitions, approvals, pending };
  });
  const pendingRefs = new Set(pending.map((p) => p.ref));
  const raised = await allFacts(facts, RISK_FACT_KINDS.ALERT_RAISED);
  const moved = await allFacts(facts, RISK_FACT_KINDS.ALERT_TRANSITIONED);
  const proposed = await allFacts(facts, RISK_FACT_KINDS.APPROVAL_PROPOSED);
  const findings: RiskAuditFinding[] = [];
  let pendingFacts = 0;

  const checkDoc = (id: string, document: string, stored: string, fid: string, logged: Map<string, Fact>) => {
    const h = documentHash(document);
    if (h !== stored)
      findings.push({
        check: "document_hash",
        id,
        message: `stored document hashes to ${h}, row says ${stored}`,
      });
    const f = logged.get(fid);
    if (!f) {
      if (pendingRefs.has(fid)) pendingFacts++;
      else findings.push({ check: "fact_missing", id, message: `no fact ${fid} on the log` });
    } else if (f.documentHash !== h)
      findings.push({
        check: "fact_mismatch",
        id,
        message: `fact ${fid} logged ${f.documentHash}, document hashes to ${h}`,
      });
  };

  const byAlert = new Map<string, typeof transitions>();
  for (const t of transitions) {
    const list = byAlert.get(t.alert_id) ?? [];
    list.push(t);
    byAlert.set(t.alert_id, list);
  }
  let open = 0;
  let disposed = 0;
  for (const a of alerts) {
    checkDoc(a.id, a.document, a.document_hash, factIds.alert(a.id), raised);
    const ts = byAlert.get(a.id) ?? [];
    let state = "open";
    for (const t of ts) {
      const fid = factIds.transition(a.id, num(t.n));
      checkDoc(`${a.id}#${num(t.n)}`, t.document, t.document_hash, fid, moved);
      const d = JSON.parse(t.document) as { from: string; to: string };
      if (d.from !== state || d.to !== t.to_state || t.from_state !== state)
        findings.push({
          check: "state_mismatch",
          id: a.id,
          message: `transition ${num(t.n)} does not follow ${state}`,
        });
      state = d.to;
    }
    if (a.state !== state || num(a.transitions) !== ts.length)
      findings.push({
        check: "state_mismatch",
        id: a.id,
        message: `alert is ${a.state} but its logged transitions lead to ${state}`,
      });
    if (!VALID.includes(a.state as AlertState))
      findings.push({ check: "invalid_state", id: a.id, message: `unknown state ${a.state}` });
    else if (DISPOSED_STATES.includes(a.state as AlertState)) disposed++;
    else open++;
  }
  for (const p of approvals) checkDoc(p.id, p.document, p.document_hash, factIds.proposal(p.id), proposed);

  // Facts on the log whose alert row is gone (deleted outside the log).
  const known = new Set(alerts.map((a) => factIds.alert(a.id)));
  for (const id of raised.keys())
    if (!known.has(id)) findings.push({ check: "orphan_fact", id, message: `fact ${id} has no alert row` });

  return {
    ok: findings.length === 0,
    alerts: alerts.length,
    transitions: transitions.length,
    approvals: approvals.length,
    open,
    disposed,
    pendingFacts,
    findings,
  };
}
