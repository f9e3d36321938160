import { el, isoTime, shortHex } from "../src/dom";
import type { AlertJson, AlertState, ApprovalJson } from "./api";

/**
 * The page's tables. Every server-provided string goes in through textContent or an attribute
 * (via `el`), never as markup.
 */

export type AlertStep = Exclude<AlertState, "open">;
export type Decision = "approve" | "reject";

const ms = (t: number) => isoTime(t / 1000);

/** "k=v" per field of parameters and results, long values cut (the full text stays in a title). */
function fields(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object") return [String(value)];
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return `${k}=${s.length > 60 ? `${s.slice(0, 57)}…` : s}`;
  });
}

export function summarise(value: unknown): string {
  return fields(value).join(", ");
}

function button(label: string, action: string, kind: "primary" | "secondary" | "danger"): HTMLButtonElement {
  return el("button", label, { type: "button", class: kind, "data-action": action });
}

function reasonInput(placeholder: string): HTMLInputElement {
  return el("input", undefined, {
    type: "text",
    class: "reason",
    maxlength: "2000",
    placeholder,
    "aria-label": placeholder,
    autocomplete: "off",
  });
}

function emptyRow(columns: number, text: string): HTMLTableRowElement {
  const tr = el("tr");
  tr.append(el("td", text, { colspan: String(columns), class: "muted" }));
  return tr;
}

function wrap(content: HTMLElement): HTMLTableCellElement {
  const td = el("td");
  td.append(content);
  return td;
}

function cell(text: string, attrs: Record<string, string> = {}): HTMLTableCellElement {
  return el("td", text, { ...attrs, title: attrs.title ?? text });
}

export function renderAlerts(
  tbody: HTMLElement,
  alerts: readonly AlertJson[],
  onStep: (alert: AlertJson, to: AlertStep, reason: string) => void,
): void {
  if (alerts.length === 0) {
    tbody.replaceChildren(emptyRow(6, "No alerts match these filters."));
    return;
  }
  tbody.replaceChildren(
    ...alerts.map((a) => {
      const tr = el("tr", undefined, { "data-alert-id": a.id, "data-state": a.state, "data-rule": a.ruleId });
      const rule = el("td");
      rule.append(
        el("span", a.ruleId, { class: "mono" }),
        el("span", a.severity, { class: `badge sev-${a.severity}` }),
      );
      if (a.outcome === "cannot_evaluate")
        rule.append(el("span", "cannot evaluate", { class: "badge warn" }));
      const details = el("td", undefined, { class: "details" });
      for (const [k, v] of Object.entries(a.details)) details.append(el("span", `${k}: ${v}`));
      const actions = el("div", undefined, { class: "row-actions" });
      if (a.state === "open") actions.append(button("Start review", "under_review", "secondary"));
      else if (a.state === "under_review") {
        const reason = reasonInput("Reason (required to dismiss)");
        actions.append(
          reason,
          button("Dismiss", "dismissed", "secondary"),
          button("Confirm", "confirmed", "secondary"),
          button("Escalate", "escalated", "danger"),
        );
      } else actions.append(el("span", "—", { class: "muted" }));
      actions
        .querySelectorAll<HTMLButtonElement>("button[data-action]")
        .forEach((b) =>
          b.addEventListener("click", () =>
            onStep(
              a,
              b.dataset.action as AlertStep,
              actions.querySelector<HTMLInputElement>("input.reason")?.value ?? "",
            ),
          ),
        );
      tr.append(
        cell(ms(a.raisedAt), { class: "nowrap" }),
        rule,
        cell(a.subject, { class: "mono" }),
        details,
        el("td", a.state.replace("_", " "), { class: `state state-${a.state}` }),
        wrap(actions),
      );
      return tr;
    }),
  );
}

export function renderApprovals(
  tbody: HTMLElement,
  approvals: readonly ApprovalJson[],
  onDecide: (approval: ApprovalJson, decision: Decision, reason: string) => void,
): void {
  if (approvals.length === 0) {
    tbody.replaceChildren(emptyRow(5, "No operation is waiting for a checker."));
    return;
  }
  tbody.replaceChildren(
    ...approvals.map((p) => {
      const tr = el("tr", undefined, { "data-approval-id": p.id, "data-operation": p.operation });
      const op = el("td");
      const params = el("span", undefined, { class: "params mono", title: JSON.stringify(p.params) });
      params.append(...fields(p.params).map((f) => el("span", f)));
      op.append(el("strong", p.operation.replaceAll("_", " ")), params);
      const reason = reasonInput("Reason (required to reject)");
      const actions = el("div", undefined, { class: "row-actions" });
      actions.append(reason, button("Approve", "approve", "primary"), button("Reject", "reject", "danger"));
      actions
        .querySelectorAll<HTMLButtonElement>("button[data-action]")
        .forEach((b) =>
          b.addEventListener("click", () => onDecide(p, b.dataset.action as Decision, reason.value)),
        );
      tr.append(
        op,
        cell(shortHex(p.maker, 8), { class: "mono", title: p.maker }),
        cell(ms(p.createdAt), { class: "nowrap" }),
        cell(ms(p.expiresAt), { class: "nowrap" }),
        wrap(actions),
      );
      return tr;
    }),
  );
}

export function renderDecided(tbody: HTMLElement, approvals: readonly ApprovalJson[]): void {
  if (approvals.length === 0) {
    tbody.replaceChildren(emptyRow(5, "No decisions yet."));
    return;
  }
  tbody.replaceChildren(
    ...approvals.map((p) => {
      const tr = el("tr", undefined, { "data-approval-id": p.id, "data-state": p.state });
      tr.append(
        cell(p.operation.replaceAll("_", " ")),
        el("td", p.state, { class: `state state-${p.state}` }),
        cell(p.checker ? shortHex(p.checker, 8) : "—", { class: "mono", title: p.checker ?? "" }),
        cell(p.decidedAt ? ms(p.decidedAt) : "—", { class: "nowrap" }),
        cell(p.reason ?? summarise(p.result)),
      );
      return tr;
    }),
  );
}
