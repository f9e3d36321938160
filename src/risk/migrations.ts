import type { Migration } from "../db/migrate";

/** Tables of the risk module; the same names and columns on SQLite and PostgreSQL. */
const tables = (t: { text: string; int: string; serial: string }) => `
CREATE TABLE risk_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_sequence ${t.int} NOT NULL,
  processed ${t.int} NOT NULL,
  rules_revision INTEGER NOT NULL
);
CREATE TABLE risk_state (
  key TEXT PRIMARY KEY,
  state TEXT NOT NULL
);
CREATE TABLE risk_rulesets (
  revision INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  activated_at ${t.int} NOT NULL,
  approval_id TEXT
);
CREATE TABLE risk_alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  window_key TEXT NOT NULL,
  severity TEXT NOT NULL,
  outcome TEXT NOT NULL,
  sequence ${t.int} NOT NULL,
  raised_at ${t.int} NOT NULL,
  state TEXT NOT NULL,
  updated_at ${t.int} NOT NULL,
  transitions INTEGER NOT NULL DEFAULT 0,
  document TEXT NOT NULL,
  document_hash TEXT NOT NULL,
  UNIQUE (rule_id, subject, window_key)
);
CREATE INDEX risk_alerts_state ON risk_alerts (state, raised_at);
CREATE INDEX risk_alerts_subject ON risk_alerts (subject, raised_at);
CREATE TABLE risk_alert_transitions (
  alert_id TEXT NOT NULL REFERENCES risk_alerts (id),
  n INTEGER NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  by_key TEXT NOT NULL,
  at ${t.int} NOT NULL,
  reason TEXT,
  document TEXT NOT NULL,
  document_hash TEXT NOT NULL,
  PRIMARY KEY (alert_id, n)
);
CREATE TABLE risk_outbox (
  id ${t.serial},
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at ${t.int} NOT NULL,
  done_at ${t.int},
  last_error TEXT,
  UNIQUE (kind, ref)
);
CREATE INDEX risk_outbox_due ON risk_outbox (done_at, next_at);
CREATE TABLE risk_approvals (
  id TEXT PRIMARY KEY,
  operation TEXT NOT NULL,
  params TEXT NOT NULL,
  maker TEXT NOT NULL,
  created_at ${t.int} NOT NULL,
  expires_at ${t.int} NOT NULL,
  state TEXT NOT NULL,
  checker TEXT,
  decided_at ${t.int},
  reason TEXT,
  executed_at ${t.int},
  result TEXT,
  document TEXT NOT NULL,
  document_hash TEXT NOT NULL
);
CREATE INDEX risk_approvals_state ON risk_approvals (state, created_at);
CREATE TABLE risk_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

export const riskMigrations: Migration[] = [
  {
    id: "risk/001_init",
    sqlite: tables({ text: "TEXT", int: "INTEGER", serial: "INTEGER PRIMARY KEY AUTOINCREMENT" }),
    postgres: tables({ text: "TEXT", int: "BIGINT", serial: "BIGSERIAL PRIMARY KEY" }),
  },
];

riskMigrations.push({
  id: "risk/002_refusals",
  sqlite: `CREATE TABLE risk_refusals (fact_id TEXT PRIMARY KEY, at INTEGER NOT NULL, document TEXT NOT NULL, document_hash TEXT NOT NULL)`,
  postgres: `CREATE TABLE risk_refusals (fact_id TEXT PRIMARY KEY, at BIGINT NOT NULL, document TEXT NOT NULL, document_hash TEXT NOT NULL)`,
});
