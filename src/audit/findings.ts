import type { Hex } from "viem";

/**
 * What an audit can find wrong. Each name is stable (it appears in custody-audit-report-v1, see
 * docs/audit.md); a finding carries the first place it applies to: a log index, an anchored head,
 * an asset, an account pseudonym or an escrow id.
 */
export const AUDIT_CHECKS = [
  "event_sequence",
  "leaf_encoding",
  "leaf_hash",
  "stored_entry",
  "log_behind_chain",
  "head_order",
  "head_root",
  "head_consistency",
  "account_lifecycle",
  "fact_lifecycle",
  "unknown_account",
  "asset_mismatch",
  "segregation",
  "negative_balance",
  "hold_lifecycle",
  "double_entry",
  "segregation_shortfall",
  "escrow_state",
  "stored_balance",
  "derived_account",
  "derived_transfer",
  "derived_hold",
  "derived_escrow",
  "derived_fact",
] as const;
export type AuditCheck = (typeof AUDIT_CHECKS)[number];

export interface AuditFinding {
  check: AuditCheck;
  message: string;
  /** Log index (= event sequence) the finding is about. */
  index?: number;
  /** Anchored head the finding is about. */
  headIndex?: number;
  treeSize?: number;
  asset?: string;
  /** Pseudonym of the account concerned. */
  account?: Hex;
  escrowId?: Hex;
  /** A derived row that differs from the replay: its table, primary key and first differing column. */
  table?: string;
  key?: string;
  column?: string;
  /** What the events give and what the row holds (text; null for SQL NULL). */
  expected?: string | null;
  found?: string | null;
}

/** Keeps the first `limit` findings and counts them all. */
export class FindingList {
  readonly items: AuditFinding[] = [];
  total = 0;
  constructor(private readonly limit = 1000) {}

  add(f: AuditFinding): void {
    this.total++;
    if (this.items.length < this.limit) this.items.push(f);
  }
}
