/**
 * The operator page's client of the API's `/v1` routes. The API key lives in sessionStorage only
 * (gone when the tab closes; never localStorage, never in a URL) and travels as a Bearer header.
 */

const KEY_SLOT = "custody-operator-api-key";

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY_SLOT) ?? undefined;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_SLOT, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_SLOT);
}

/** A refusal by the server, with its named code (e.g. REASON_REQUIRED, FORBIDDEN). */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

/** No key typed in yet. */
export class NoKeyError extends Error {
  override name = "NoKeyError";
  constructor() {
    super("Enter an API key first.");
  }
}

// The page is served at <base>/operator/; the API is <base>/v1/.
const API_BASE = new URL("../v1/", location.href);

export async function apiCall<T>(
  method: "GET" | "POST",
  path: string,
  opts: { query?: Record<string, string | undefined>; body?: unknown } = {},
): Promise<T> {
  const key = storedKey();
  if (!key) throw new NoKeyError();
  const url = new URL(path, API_BASE);
  for (const [k, v] of Object.entries(opts.query ?? {}))
    if (v !== undefined && v !== "") url.searchParams.set(k, v);
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      accept: "application/json",
      ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    credentials: "omit",
    cache: "no-store",
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
      ?.error;
    throw new ServerError(
      res.status,
      typeof e?.code === "string" ? e.code : `HTTP_${res.status}`,
      typeof e?.message === "string" ? e.message : res.statusText || "request failed",
      typeof e?.details === "string" ? e.details : undefined,
    );
  }
  return json as T;
}

export type AlertState = "open" | "under_review" | "dismissed" | "confirmed" | "escalated";

export interface AlertJson {
  id: string;
  ruleId: string;
  severity: string;
  action: string;
  outcome: string;
  subject: string;
  window: string;
  raisedAt: number;
  details: Record<string, string>;
  state: AlertState;
  updatedAt: number;
}

export interface ApprovalJson {
  id: string;
  operation: string;
  params: Record<string, unknown>;
  maker: string;
  createdAt: number;
  expiresAt: number;
  state: string;
  checker?: string;
  decidedAt?: number;
  reason?: string;
  executedAt?: number;
  result?: unknown;
}

export interface AlertBucket {
  ruleId: string;
  bucket: number;
  count: number;
}
