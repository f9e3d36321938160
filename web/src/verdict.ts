import type { AnyReceipt, PolicyVerificationResult, VerificationResult } from "../../src/verify";
import { byId, el, isoTime, shortHex } from "./dom";

export type VerdictState = "valid" | "invalid" | "error" | "working";

export function fact(
  list: HTMLElement,
  label: string,
  value: string,
  opts: { mono?: boolean; title?: string } = {},
) {
  list.append(el("dt", label));
  const dd = el("dd", value);
  if (opts.mono) dd.className = "mono";
  if (opts.title) dd.title = opts.title;
  list.append(dd);
}

/**
 * Shows a state without checks (working, or an error that prevented a verdict) in the verdict box
 * `box` (its parts are `<box>-title`, `-reason`, `-facts`, `-checks`).
 */
export function showMessage(state: VerdictState, title: string, reason = "", box = "verdict"): void {
  const el = byId(box);
  el.hidden = false;
  el.dataset.state = state;
  byId(`${box}-title`).textContent = title;
  byId(`${box}-reason`).textContent = reason;
  byId(`${box}-facts`).replaceChildren();
  byId(`${box}-checks`).replaceChildren();
}

/** Lists every check, in order, with its stable name in `data-check` and the outcome in `data-ok`. */
export function showChecks(
  list: HTMLElement,
  checks: readonly { name: string; ok: boolean; detail: string }[],
): void {
  list.replaceChildren();
  for (const c of checks) {
    const li = el("li", undefined, { "data-ok": String(c.ok), "data-check": c.name });
    li.append(
      el("span", c.ok ? "✓" : "✗", { class: "mark", "aria-label": c.ok ? "passed" : "failed" }),
      el("span", c.name, { class: "name" }),
      el("span", c.detail, { class: "detail" }),
    );
    list.append(li);
  }
}

/** Shows a verdict: the result, the anchored head, and every check. */
export function showVerdict(
  v: VerificationResult | PolicyVerificationResult,
  subject: { receipt?: AnyReceipt; leafHash?: string; policyName?: string },
): void {
  const box = byId("verdict");
  box.hidden = false;
  box.dataset.state = v.ok ? "valid" : "invalid";
  byId("verdict-title").textContent = v.ok
    ? subject.receipt
      ? "Valid receipt: this entry is in the anchored custody log"
      : "Valid: this hash is in the anchored custody log"
    : subject.receipt || !subject.leafHash
      ? "Invalid receipt"
      : "Not verified";
  byId("verdict-reason").textContent = v.ok ? "" : `Reason: ${v.reason ?? "unknown"}`;

  const facts = byId("verdict-facts");
  facts.replaceChildren();
  const r = subject.receipt;
  if (r) {
    fact(facts, "Entry", `#${r.entry.sequence} · ${r.entry.eventType.replace(/_/g, " ").toLowerCase()}`);
    fact(facts, "Amount", `${r.entry.amount.toString()} ${r.entry.asset} (minor units)`);
    fact(
      facts,
      "Recorded",
      new Date(r.entry.timestamp).toISOString().replace("T", " ").replace(".000Z", "Z"),
    );
  }
  const leafHash = r?.leafHash ?? subject.leafHash;
  if (leafHash) fact(facts, "Receipt hash", leafHash, { mono: true });
  const h = v.anchoredHead;
  if (h) {
    // On an invalid verdict this is what the chain holds at the index the receipt named.
    fact(facts, v.ok ? "Anchored head" : "Head on chain", `#${h.headIndex} · tree size ${h.treeSize}`);
    fact(facts, "Root", h.rootHash, { mono: true });
    fact(facts, "Block", `${h.blockNumber} · ${isoTime(h.blockTimestamp)}`);
    fact(facts, "Contract", `${shortHex(h.contract, 12)} on chain ${h.chainId}`, {
      mono: true,
      title: h.contract,
    });
  }
  if (subject.policyName) fact(facts, "Trust policy", subject.policyName);
  if ("checkpointChecked" in v) {
    if (v.witnesses) fact(facts, "Witnesses", v.witnesses.join(", ") || "none");
    else if (!v.checkpointChecked && r)
      fact(facts, "Witnesses", "not checked: no checkpoint in a v1 receipt");
  } else if (r?.format === "custody-receipt-v2") {
    fact(
      facts,
      "Checkpoint",
      "signatures not checked: load a trust policy to check the log key and witnesses",
    );
  }
  if (r?.context && v.ok) {
    const pairs = Object.entries(r.context)
      .map(([k, val]) => `${k}: ${typeof val === "string" ? val : JSON.stringify(val)}`)
      .join(" · ");
    if (pairs) fact(facts, "Context (not verified)", pairs);
  }

  showChecks(byId("verdict-checks"), v.checks);
}
