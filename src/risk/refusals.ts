import { createHash } from "node:crypto";
import { RISK_FACT_KINDS, documentBytes, documentHash } from "./documents";
import { enqueue, factPayload } from "./outbox";
import type { FactPort } from "./ports";
import { type SqlRunner, run } from "../db/tx-runner";

/**
 * A refused segregation attempt (the platform tried to move customer money where the rules forbid)
 * changes no balance, so the ledger logs nothing; this records it as a SEGREGATION_REFUSED fact so
 * the rules engine raises an alert and the attempt stays on the log. Document format
 * `custody-risk-segregation-refusal-v1` (docs/risk-v1.md).
 */
export const REFUSAL_FORMAT = "custody-risk-segregation-refusal-v1";

export interface RefusedAttempt {
  /** The refused transfer's client id. */
  transferId: string;
  debitAccountId: string;
  creditAccountId: string;
  kind: string;
  amount: bigint;
  /** The ledger error's code, e.g. CUSTOMER_FUNDS_OUTFLOW. */
  errorCode: string;
  /** API key id of the caller. */
  by?: string;
}

export async function recordSegregationRefusal(
  runner: SqlRunner,
  facts: FactPort,
  attempt: RefusedAttempt,
  now: number,
): Promise<string> {
  const doc = documentBytes({
    format: REFUSAL_FORMAT,
    transferId: attempt.transferId,
    debitAccountId: attempt.debitAccountId,
    creditAccountId: attempt.creditAccountId,
    kind: attempt.kind,
    amount: attempt.amount.toString(),
    errorCode: attempt.errorCode,
    by: attempt.by ?? null,
    at: now,
  });
  const hash = documentHash(doc);
  // One fact per attempt and moment; a retried identical request is another attempt.
  const fid = `risk:refusal:${createHash("sha256").update(`${attempt.transferId}\n${now}`).digest("hex").slice(0, 32)}`;
  const input = {
    id: fid,
    kind: RISK_FACT_KINDS.SEGREGATION_REFUSED,
    documentHash: hash,
    subject: attempt.debitAccountId,
  };
  await runner.tx(function* () {
    yield* run(
      "INSERT INTO risk_refusals (fact_id, at, document, document_hash) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      fid,
      now,
      doc,
      hash,
    );
    yield* enqueue("fact", fid, factPayload(input), now);
  });
  // Logged now if possible; the outbox retries otherwise.
  await facts.recordFact(input).catch(() => undefined);
  return fid;
}
