import { createHmac } from "node:crypto";
import { InvalidStatusTransitionError } from "../ledger";
import { WebhookDeliveryError } from "./errors";
import type { FactInput, FactPort, RiskLedgerPort } from "./ports";
import { type Body, type SqlRunner, all, num, run } from "../db/tx-runner";

/**
 * Work that must follow a committed risk change, written in the same transaction as the change
 * (so nothing acknowledged is lost) and done afterwards, at least once, by `publishOutbox`:
 * - `fact`: the change's fact leaf (recordFact is idempotent by id, so a retry is harmless);
 * - `freeze`: freezing an account a rule named (setAccountStatus is idempotent);
 * - `webhook`: the alert POSTed to the operator's endpoint, HMAC-signed, retried with backoff.
 */
export type OutboxKind = "fact" | "freeze" | "webhook";

export function* enqueue(kind: OutboxKind, ref: string, payload: unknown, now: number): Body<number> {
  return yield* enqueueAll([[kind, ref, payload]], now);
}

function payloadText(payload: unknown): string {
  return JSON.stringify(payload, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Several items in order, in multi-row statements (items already queued are skipped). */
export function* enqueueAll(items: readonly [OutboxKind, string, unknown][], now: number): Body<number> {
  let n = 0;
  for (let i = 0; i < items.length; i += ENQUEUE_CHUNK) {
    const chunk = items.slice(i, i + ENQUEUE_CHUNK);
    const params: unknown[] = [];
    for (const [kind, ref, payload] of chunk) params.push(kind, ref, payloadText(payload), now);
    n += yield* run(
      `INSERT INTO risk_outbox (kind, ref, payload, next_at) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}
       ON CONFLICT (kind, ref) DO NOTHING`,
      ...params,
    );
  }
  return n;
}
const ENQUEUE_CHUNK = 1000;

export function factPayload(f: FactInput): unknown {
  return { ...f, amount: f.amount?.toString() };
}

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key for the `X-Custody-Signature` header (from an env var or keystore, never the repo). */
  secret: Uint8Array | string;
  timeoutMs?: number;
}

export interface OutboxDeps {
  runner: SqlRunner;
  facts: FactPort;
  ledger: Pick<RiskLedgerPort, "setAccountStatus">;
  webhook?: WebhookOptions;
  now: () => number;
  /** First retry delay (default 1000 ms), doubled per attempt up to maxBackoffMs (default 5 min). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * How long a claimed item is left to the process that claimed it (default 5 min). A process that
   * dies holding a claim delays its items by this much; one that is slower than this may see another
   * process repeat an item, which every kind tolerates.
   */
  claimMs?: number;
}

/**
 * Signature over `timestamp + "." + body`: receivers recompute it with the shared secret and
 * refuse stale timestamps, so a captured request cannot be replayed later.
 */
export function webhookSignature(secret: Uint8Array | string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

interface OutboxRow {
  id: unknown;
  kind: OutboxKind;
  ref: string;
  payload: string;
  attempts: unknown;
}

function factInputOf(p: Record<string, unknown>): FactInput {
  return {
    ...(p as unknown as FactInput),
    amount: p.amount === undefined || p.amount === null ? undefined : BigInt(p.amount as string),
  };
}

async function perform(d: OutboxDeps, r: OutboxRow): Promise<void> {
  const p = JSON.parse(r.payload) as Record<string, unknown>;
  if (r.kind === "fact") {
    await d.facts.recordFact(factInputOf(p));
  } else if (r.kind === "freeze") {
    try {
      await d.ledger.setAccountStatus(p.accountId as string, "frozen");
    } catch (e) {
      // A closed account stays closed: nothing left to freeze.
      if (!(e instanceof InvalidStatusTransitionError)) throw e;
    }
  } else {
    if (!d.webhook) throw new WebhookDeliveryError("no webhook configured");
    const body = r.payload;
    const ts = String(Math.floor(d.now() / 1000));
    const res = await fetch(d.webhook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-custody-timestamp": ts,
        "x-custody-delivery": r.ref,
        "x-custody-signature": webhookSignature(d.webhook.secret, ts, body),
      },
      body,
      signal: AbortSignal.timeout(d.webhook.timeoutMs ?? 5000),
    });
    if (!res.ok) throw new WebhookDeliveryError(`webhook answered HTTP ${res.status}`, res.status);
  }
}

/**
 * Claims up to `limit` due items for this caller: their `next_at` moves `claimMs` ahead in the same
 * statement that selects them, so every stack process can publish without two of them doing the same
 * item at once or marking the same rows (which deadlocked). PostgreSQL skips rows another claim holds.
 */
function claimDue(runner: SqlRunner, now: number, claimMs: number, limit: number): Promise<OutboxRow[]> {
  const skipLocked = runner.kind === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  return runner.tx(function* () {
    const rows = yield* all<OutboxRow>(
      `UPDATE risk_outbox SET next_at = ? WHERE id IN (SELECT id FROM risk_outbox WHERE done_at IS NULL AND next_at <= ? ORDER BY id LIMIT ?${skipLocked}) RETURNING id, kind, ref, payload, attempts`,
      now + claimMs,
      now,
      limit,
    );
    // RETURNING follows no order on PostgreSQL; the work goes oldest first.
    return rows.sort((a, b) => num(a.id) - num(b.id));
  });
}

/** Claims the due outbox work and does it once, oldest first; returns how many items completed. */
export async function publishOutbox(d: OutboxDeps, limit = 200): Promise<number> {
  const rows = await claimDue(d.runner, d.now(), d.claimMs ?? 300_000, limit);
  // Completed items are marked in one transaction at the end: a crash before it repeats their
  // work, which every kind tolerates (facts are idempotent by id, a frozen account stays frozen,
  // webhook receivers deduplicate by delivery id).
  const completed: unknown[] = [];
  // Due facts go to the log in one commit when the port allows it; if that fails, each is tried
  // on its own below, so one bad item cannot hold back the others.
  const factRows = rows.filter((r) => r.kind === "fact");
  let batched = new Set<OutboxRow>();
  if (d.facts.recordFacts && factRows.length > 1) {
    try {
      await d.facts.recordFacts(factRows.map((r) => factInputOf(JSON.parse(r.payload))));
      batched = new Set(factRows);
      for (const r of factRows) completed.push(r.id);
    } catch {
      // Retried one by one.
    }
  }
  for (const r of rows) {
    if (batched.has(r)) continue;
    try {
      await perform(d, r);
      completed.push(r.id);
    } catch (e) {
      const attempts = num(r.attempts) + 1;
      const delay = Math.min(
        (d.baseBackoffMs ?? 1000) * 2 ** Math.min(attempts - 1, 30),
        d.maxBackoffMs ?? 300_000,
      );
      await d.runner.tx(() =>
        run(
          "UPDATE risk_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
          attempts,
          d.now() + delay,
          String(e instanceof Error ? e.message : e).slice(0, 500),
          r.id,
        ),
      );
    }
  }
  if (completed.length > 0) {
    const at = d.now();
    await d.runner.tx(function* () {
      for (let i = 0; i < completed.length; i += 100) {
        const ids = completed.slice(i, i + 100);
        yield* run(
          `UPDATE risk_outbox SET done_at = ?, last_error = NULL WHERE id IN (${ids.map(() => "?").join(", ")})`,
          at,
          ...ids,
        );
      }
    });
  }
  return completed.length;
}

/** Items not yet done, per kind (for /v1/ready-style checks and tests). */
export async function pendingOutbox(runner: SqlRunner): Promise<Record<string, number>> {
  const rows = await runner.read(() =>
    all<{ kind: string; n: unknown }>(
      "SELECT kind, COUNT(*) AS n FROM risk_outbox WHERE done_at IS NULL GROUP BY kind",
    ),
  );
  return Object.fromEntries(rows.map((r) => [r.kind, num(r.n)]));
}
