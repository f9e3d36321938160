/**
 * Every request the soak sends, by its client-chosen idempotency id: what was sent and how it was
 * answered. A request is `acked` (2xx), `rejected` (4xx: a final answer that must change nothing) or
 * `unanswered` (no answer, a timeout or a 5xx: it may or may not have been applied, and is resent
 * with the same id and body until it gets a final answer).
 */
export type RequestKind = "account" | "transfer" | "batch" | "escrow" | "statement";
export type RequestState = "acked" | "rejected" | "unanswered";

export interface JournalEntry {
  id: string;
  kind: RequestKind;
  method: "POST";
  path: string;
  /** JSON body, or the raw statement document. */
  body: unknown;
  contentType: string;
  key: "platform" | "custodian";
  state: RequestState;
  attempts: number;
  /** A send is under way (a resend waits for it). */
  inFlight?: boolean;
  /** Resends after no answer. */
  resends: number;
  status?: number;
  response?: any;
  error?: string;
  /** Escrows only: how the soak decides it on chain. */
  plan?: "release" | "refund";
}

export interface JournalCounts {
  requests: number;
  attempts: number;
  acked: number;
  rejected: number;
  unanswered: number;
  resends: number;
  /** Answers with status ≥ 500 (each attempt counted). */
  serverErrors: number;
  /** Attempts without any HTTP answer (connection refused or reset, timeout). */
  noAnswer: number;
  byKind: Record<string, number>;
}

export class Journal {
  readonly entries = new Map<string, JournalEntry>();
  serverErrors = 0;
  noAnswer = 0;

  add(e: Omit<JournalEntry, "state" | "attempts" | "resends">): JournalEntry {
    const full: JournalEntry = { ...e, state: "unanswered", attempts: 0, resends: 0 };
    this.entries.set(e.id, full);
    return full;
  }

  of(state: RequestState, kind?: RequestKind): JournalEntry[] {
    return [...this.entries.values()].filter((e) => e.state === state && (!kind || e.kind === kind));
  }

  /** Sent, not in flight, and without a final answer: to be resent. */
  toResend(): JournalEntry[] {
    return this.of("unanswered").filter((e) => e.attempts > 0 && !e.inFlight);
  }

  counts(): JournalCounts {
    const all = [...this.entries.values()];
    const byKind: Record<string, number> = {};
    for (const e of all) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    return {
      requests: all.length,
      attempts: all.reduce((a, e) => a + e.attempts, 0),
      acked: all.filter((e) => e.state === "acked").length,
      rejected: all.filter((e) => e.state === "rejected").length,
      unanswered: all.filter((e) => e.state === "unanswered").length,
      resends: all.reduce((a, e) => a + e.resends, 0),
      serverErrors: this.serverErrors,
      noAnswer: this.noAnswer,
      byKind,
    };
  }
}

/** Sends one journal entry (first time or again, always with the same id and body) and records the outcome. */
export async function send(
  j: Journal,
  e: JournalEntry,
  apiUrl: string,
  keys: { platform: string; custodian: string },
): Promise<JournalEntry> {
  if (e.attempts > 0) e.resends++;
  e.attempts++;
  e.inFlight = true;
  try {
    const res = await fetch(`${apiUrl}/v1${e.path}`, {
      method: e.method,
      headers: { authorization: `Bearer ${keys[e.key]}`, "content-type": e.contentType },
      body: typeof e.body === "string" ? e.body : JSON.stringify(e.body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text.slice(0, 200) };
    }
    e.status = res.status;
    if (res.status >= 500) {
      j.serverErrors++;
      e.error = `${res.status} ${json?.error?.code ?? ""}`;
      return e;
    }
    e.state = res.status < 300 ? "acked" : "rejected";
    e.response = json;
    e.error =
      res.status < 300 ? undefined : `${res.status} ${json?.error?.code ?? ""} ${json?.error?.message ?? ""}`;
  } catch (err) {
    j.noAnswer++;
    e.error = String((err as Error)?.message ?? err);
  } finally {
    e.inFlight = false;
  }
  return e;
}
