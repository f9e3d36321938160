import { byId, el } from "../src/dom";
import {
  NoKeyError,
  ServerError,
  apiCall,
  forgetKey,
  storeKey,
  storedKey,
  type AlertBucket,
  type AlertJson,
  type ApprovalJson,
} from "./api";
import { drawAlertChart, type ChartRange } from "./chart";
import {
  renderAlerts,
  renderApprovals,
  renderDecided,
  summarise,
  type AlertStep,
  type Decision,
} from "./tables";

/**
 * The operator console: open alerts and their review, operations pending a checker, and a chart of
 * alerts per rule. The page decides nothing itself: every step is a request the service accepts
 * or refuses, and a refusal is shown with the service's own code and words.
 */

const keyInput = byId<HTMLInputElement>("api-key");
const keyStatus = byId("key-status");
const notice = byId("notice");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RANGES: Record<string, { span: number; bucketMs: number }> = {
  day: { span: DAY, bucketMs: HOUR },
  week: { span: 7 * DAY, bucketMs: DAY },
  month: { span: 30 * DAY, bucketMs: DAY },
};

function show(kind: "ok" | "error", text: string, code?: string): void {
  notice.hidden = false;
  notice.dataset.kind = kind;
  notice.replaceChildren();
  if (code) notice.append(el("strong", code, { class: "code" }), " ");
  notice.append(text);
}

function showError(e: unknown): void {
  if (e instanceof ServerError) show("error", `${e.message}${e.details ? ` (${e.details})` : ""}`, e.code);
  else if (e instanceof NoKeyError) show("error", e.message);
  else show("error", `The service could not be reached: ${e instanceof Error ? e.message : String(e)}`);
}

/** datetime-local values are read as UTC, as the labels say. */
function utcMs(value: string): string | undefined {
  if (!value) return undefined;
  const t = Date.parse(`${value}Z`);
  return Number.isFinite(t) ? String(t) : undefined;
}

/** "active" (the default) is open and under review together: what still needs someone. */
async function loadAlerts(): Promise<void> {
  const state = byId<HTMLSelectElement>("f-state").value;
  const query = {
    rule: byId<HTMLInputElement>("f-rule").value.trim(),
    account: byId<HTMLInputElement>("f-account").value.trim(),
    from: utcMs(byId<HTMLInputElement>("f-from").value),
    to: utcMs(byId<HTMLInputElement>("f-to").value),
    limit: "500",
  };
  const lists = await Promise.all(
    (state === "active" ? ["open", "under_review"] : [state]).map((st) =>
      apiCall<{ alerts: AlertJson[] }>("GET", "alerts", { query: { ...query, state: st } }),
    ),
  );
  const alerts = lists
    .flatMap((l) => l.alerts)
    .sort((a, b) => b.raisedAt - a.raisedAt || (a.id < b.id ? 1 : -1));
  renderAlerts(byId("alerts-body"), alerts, (a, to, reason) => void stepAlert(a, to, reason));
}

const DECIDED = ["approved", "executed", "failed", "rejected", "expired"];

async function loadApprovals(): Promise<void> {
  const list = (state: string, limit: number) =>
    apiCall<{ approvals: ApprovalJson[] }>("GET", "approvals", {
      query: { state, limit: String(limit) },
    }).then((r) => r.approvals);
  const [pending, ...decided] = await Promise.all([
    list("pending", 200),
    ...DECIDED.map((st) => list(st, 10)),
  ]);
  renderApprovals(byId("approvals-body"), pending!, (p, d, reason) => void decide(p, d, reason));
  renderDecided(
    byId("decided-body"),
    decided
      .flat()
      .sort((a, b) => (b.decidedAt ?? b.createdAt) - (a.decidedAt ?? a.createdAt))
      .slice(0, 10),
  );
}

async function loadChart(): Promise<void> {
  const r = RANGES[byId<HTMLSelectElement>("chart-range").value] ?? RANGES.week!;
  const to = Date.now() + 1;
  const range: ChartRange = {
    from: Math.floor((to - r.span) / r.bucketMs + 1) * r.bucketMs,
    to,
    bucketMs: r.bucketMs,
  };
  const { buckets } = await apiCall<{ buckets: AlertBucket[] }>("GET", "alerts/stats", {
    query: { from: String(range.from), to: String(range.to), bucketMs: String(range.bucketMs) },
  });
  drawAlertChart(byId("chart"), byId("chart-legend"), buckets, range);
  byId("rule-list").replaceChildren(
    ...[...new Set(buckets.map((b) => b.ruleId))].sort().map((r) => el("option", undefined, { value: r })),
  );
}

async function refresh(): Promise<void> {
  if (!storedKey()) {
    keyStatus.textContent = "No key yet: enter an operator, checker or auditor key.";
    return;
  }
  document.body.dataset.loading = "true";
  try {
    const results = await Promise.allSettled([loadAlerts(), loadApprovals(), loadChart()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) showError(failed.reason);
    keyStatus.textContent = failed
      ? "The service refused this key for part of the page (see above)."
      : "Key in use for this tab only. Close the tab or press “Forget key” to drop it.";
  } finally {
    document.body.dataset.loading = "false";
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? "0") + 1);
  }
}

/** Runs one step, reports the outcome, then reloads (on success and on refusal alike). */
async function act(what: () => Promise<string>): Promise<void> {
  document.querySelectorAll<HTMLButtonElement>("button[data-action]").forEach((b) => (b.disabled = true));
  try {
    show("ok", await what());
  } catch (e) {
    showError(e);
  }
  await refresh();
}

function stepAlert(a: AlertJson, to: AlertStep, reason: string): Promise<void> {
  return act(async () => {
    const r = reason.trim();
    const after = await apiCall<AlertJson>("POST", `alerts/${encodeURIComponent(a.id)}/transition`, {
      body: r ? { to, reason: r } : { to },
    });
    return `Alert ${after.id} (${after.ruleId}, ${after.subject}) is now ${after.state.replace("_", " ")}.`;
  });
}

function decide(p: ApprovalJson, decision: Decision, reason: string): Promise<void> {
  return act(async () => {
    const r = reason.trim();
    const after = await apiCall<ApprovalJson>("POST", `approvals/${encodeURIComponent(p.id)}/${decision}`, {
      body: decision === "reject" ? (r ? { reason: r } : {}) : {},
    });
    const result = after.result === undefined ? "" : `: ${summarise(after.result)}`;
    return `${after.operation.replaceAll("_", " ")} ${after.id} is ${after.state}${result}.`;
  });
}

byId<HTMLFormElement>("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = keyInput.value.trim();
  if (!key) {
    show("error", "Type an API key first.");
    return;
  }
  storeKey(key);
  keyInput.value = "";
  notice.hidden = true;
  void refresh();
});

byId("key-forget").addEventListener("click", () => {
  forgetKey();
  keyInput.value = "";
  notice.hidden = true;
  for (const [id, cols] of [
    ["alerts-body", 6],
    ["approvals-body", 5],
    ["decided-body", 5],
  ] as const) {
    const tr = el("tr");
    tr.append(el("td", "Enter a key to load.", { colspan: String(cols), class: "muted" }));
    byId(id).replaceChildren(tr);
  }
  byId("chart").replaceChildren();
  byId("chart-legend").replaceChildren();
  keyStatus.textContent = "Key forgotten.";
});

byId("refresh").addEventListener("click", () => void refresh());
byId("chart-range").addEventListener("change", () => void loadChart().catch(showError));
byId<HTMLFormElement>("alert-filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  void loadAlerts().catch(showError);
});

void refresh().finally(() => {
  document.body.dataset.ready = "true";
});
