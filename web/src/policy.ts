import { CustodyError } from "../../src/errors";
import { loadTrustPolicy, type LoadedTrustPolicy } from "../../src/protocol/trust-policy";
import { byId, el } from "./dom";
import { fact } from "./verdict";

/**
 * The user's trust policy on the page (docs/checkpoints.md §Trust policy): loaded from a URL or a
 * file the user chose, validated with the protocol's parser, kept in localStorage, and shown with
 * where it came from. A policy offered by the platform's /v1/config can be used but is marked as not
 * independent.
 */

export type PolicySource =
  { kind: "url"; where: string } | { kind: "file"; where: string } | { kind: "platform"; where: string };

export interface ActivePolicy {
  loaded: LoadedTrustPolicy;
  source: PolicySource;
}

const STORAGE_KEY = "custody.trustPolicy.v1";
export const NOT_INDEPENDENT = "supplied by the platform — not independent";

let active: ActivePolicy | undefined;
let suggested: { raw: unknown; where: string } | undefined;

/** The policy in use, if any. */
export function activePolicy(): ActivePolicy | undefined {
  return active;
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // disabled storage: the policy lasts for this page only
  }
}

function describeError(err: unknown): string {
  return err instanceof CustodyError
    ? `${err.shortMessage}${err.details ? ` (${err.details})` : ""}`
    : String(err);
}

function showError(message?: string): void {
  const p = byId("policy-error");
  p.hidden = !message;
  p.textContent = message ?? "";
}

/** Validates and activates a policy; stores it unless it came from the platform. Throws on bad input. */
function activate(raw: unknown, source: PolicySource): void {
  const loaded = loadTrustPolicy(raw);
  active = { loaded, source };
  const s = storage();
  if (s) s.setItem(STORAGE_KEY, JSON.stringify({ policy: loaded.policy, source }));
  render();
}

function sourceLabel(source: PolicySource): string {
  switch (source.kind) {
    case "url":
      return `loaded from ${source.where}`;
    case "file":
      return `loaded from the file ${source.where}`;
    case "platform":
      return `${NOT_INDEPENDENT} (${source.where})`;
  }
}

/** Renders the policy panel: which policy is in use, from where, and everything it pins. */
export function render(): void {
  const panel = byId("policy-panel");
  const badge = byId("policy-badge");
  const facts = byId("policy-facts");
  facts.replaceChildren();
  byId("policy-forget-btn").hidden = !active;
  byId("policy-suggested-btn").hidden = !suggested || active?.source.kind === "platform";
  const contract = byId<HTMLInputElement>("contract");
  const chainId = byId<HTMLInputElement>("chain-id");
  if (!active) {
    panel.dataset.source = "none";
    badge.textContent = suggested
      ? "No trust policy of your own. The platform suggests one; it would not be independent."
      : "No trust policy: receipts are checked against the chain settings below only.";
    contract.disabled = false;
    chainId.disabled = false;
    return;
  }
  const { policy, log, witnesses } = active.loaded;
  panel.dataset.source = active.source.kind;
  badge.textContent =
    active.source.kind === "platform"
      ? `Policy in use: ${policy.name}, ${NOT_INDEPENDENT}`
      : `Policy in use: ${policy.name} (your own)`;
  fact(facts, "Source", sourceLabel(active.source));
  fact(facts, "Chain id", String(policy.chainId));
  fact(facts, "Anchor contract", policy.anchorContract.toLowerCase(), { mono: true });
  if (policy.reservesContract)
    fact(facts, "Reserves contract", policy.reservesContract.toLowerCase(), { mono: true });
  fact(facts, "Log", `${policy.log.origin} · key ${log.name}+${log.keyId.toString(16).padStart(8, "0")}`, {
    mono: true,
    title: policy.log.vkey,
  });
  const wl = el("dd");
  wl.id = "policy-witnesses";
  wl.textContent = witnesses.length ? witnesses.map((w) => w.name).join(", ") : "none";
  facts.append(el("dt", "Witnesses"), wl);
  fact(facts, "Quorum", `${policy.witnesses.quorum} of ${witnesses.length}`);
  // The policy pins contract and chain: the free-form settings would only confuse.
  contract.value = policy.anchorContract.toLowerCase();
  chainId.value = String(policy.chainId);
  contract.disabled = true;
  chainId.disabled = true;
  contract.title = chainId.title = `pinned by the trust policy "${policy.name}"`;
}

/** Restores the stored policy (if still valid). */
export function restorePolicy(): void {
  const raw = storage()?.getItem(STORAGE_KEY);
  if (raw) {
    try {
      const { policy, source } = JSON.parse(raw) as { policy: unknown; source: PolicySource };
      active = { loaded: loadTrustPolicy(policy), source };
    } catch (err) {
      storage()?.removeItem(STORAGE_KEY);
      showError(`The stored trust policy is no longer valid and was dropped: ${describeError(err)}`);
    }
  }
  render();
}

/** Remembers the policy /v1/config suggests, offering it (marked not independent). */
export function offerSuggestedPolicy(raw: unknown, where: string): void {
  suggested = raw === undefined ? undefined : { raw, where };
  render();
}

async function loadFromUrl(url: string): Promise<void> {
  if (!/^https?:\/\//i.test(url) && !/^file:/i.test(url)) {
    showError("Give the policy's full URL (https://…).");
    return;
  }
  let text: string;
  try {
    const res = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
    if (!res.ok) {
      showError(`Could not fetch the policy from ${url}: HTTP ${res.status}`);
      return;
    }
    text = await res.text();
  } catch (err) {
    showError(`Could not fetch the policy from ${url}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  try {
    activate(text, { kind: "url", where: url });
    showError();
  } catch (err) {
    showError(`The policy from ${url} is refused: ${describeError(err)}`);
  }
}

export function wirePolicy(): void {
  const urlInput = byId<HTMLInputElement>("policy-url");
  byId("policy-url-btn").addEventListener("click", () => void loadFromUrl(urlInput.value.trim()));
  urlInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void loadFromUrl(urlInput.value.trim());
    }
  });
  byId<HTMLInputElement>("policy-file").addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    const f = input.files?.[0];
    if (!f) return;
    void f.text().then((text) => {
      try {
        activate(text, { kind: "file", where: f.name });
        showError();
      } catch (err) {
        showError(`The policy file ${f.name} is refused: ${describeError(err)}`);
      }
      input.value = "";
    });
  });
  byId("policy-suggested-btn").addEventListener("click", () => {
    if (!suggested) return;
    try {
      activate(suggested.raw, { kind: "platform", where: suggested.where });
      showError();
    } catch (err) {
      showError(`The platform's suggested policy is refused: ${describeError(err)}`);
    }
  });
  byId("policy-forget-btn").addEventListener("click", () => {
    active = undefined;
    storage()?.removeItem(STORAGE_KEY);
    showError();
    render();
  });
}
