import {
  type Alert,
  type AlertFilter,
  type TransitionInput,
  alertCountsByRule,
  getAlert,
  listAlerts,
  transitionAlert,
} from "./alerts";
import type { Approvals } from "./approvals";
import { type RiskAuditReport, auditRisk } from "./audit";
import type { RiskEngine } from "./engine";
import type { FactPort } from "./ports";
import { type RefusedAttempt, recordSegregationRefusal } from "./refusals";

/** What the API and the CLI use of the risk module: alerts, their review, approvals, the audit. */
export class RiskService {
  readonly engine: RiskEngine;
  readonly approvals: Approvals;
  readonly #facts: FactPort;
  readonly #clock: () => number;

  constructor(engine: RiskEngine, approvals: Approvals, facts: FactPort, clock: () => number = Date.now) {
    this.engine = engine;
    this.approvals = approvals;
    this.#facts = facts;
    this.#clock = clock;
  }

  listAlerts(filter: AlertFilter): Promise<Alert[]> {
    return listAlerts(this.engine.runner, filter);
  }
  getAlert(id: string): Promise<Alert> {
    return getAlert(this.engine.runner, id);
  }
  async transitionAlert(id: string, input: TransitionInput): Promise<Alert> {
    const a = await transitionAlert(this.engine.runner, id, input, this.#clock());
    void this.engine.publish().catch(() => undefined);
    return a;
  }
  alertCounts(from: number, to: number, bucketMs: number) {
    return alertCountsByRule(this.engine.runner, from, to, bucketMs);
  }
  recordRefusal(attempt: RefusedAttempt): Promise<string> {
    return recordSegregationRefusal(this.engine.runner, this.#facts, attempt, this.#clock());
  }
  audit(): Promise<RiskAuditReport> {
    return auditRisk(this.engine.runner, this.#facts);
  }
}
