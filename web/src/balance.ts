import type { Address } from "viem";
import { CustodyError } from "../../src/errors";
import { parseBalanceProof } from "../../src/protocol/balance-proof-v1";
import { ChainReadError } from "../../src/verify";
import { verifyBalanceProof } from "../../src/verify/balance-proof";
import { byId } from "./dom";
import { activePolicy } from "./policy";
import { fact, showChecks, showMessage } from "./verdict";

/**
 * The balance-proof tab: a custody-balance-proof-v1 verified in the browser like `custody
 * verify-balance` (docs/balance-proof-v1.md): every offline check, then the snapshot commitment and
 * the custodian's attested reserves read from the chain through the RPC endpoint of the settings.
 * Under a trust policy with a reserves contract, a proof naming another contract is refused.
 */

const BOX = "balance-verdict";

async function runBalanceVerification(rpcUrl: () => string): Promise<void> {
  const text = byId<HTMLTextAreaElement>("balance-input").value.trim();
  if (!text) {
    showMessage("error", "Nothing to verify", "Paste or choose a balance proof.", BOX);
    return;
  }
  const rpc = rpcUrl();
  if (!rpc) {
    byId<HTMLDetailsElement>("settings").open = true;
    showMessage("error", "No verdict", "Set the RPC endpoint of a node of the chain (Chain settings).", BOX);
    return;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = text; // the format check names the problem
  }
  const policy = activePolicy()?.loaded.policy;
  const button = byId<HTMLButtonElement>("balance-btn");
  button.disabled = true;
  showMessage("working", "Verifying…", "Re-hashing the path and reading the chain.", BOX);
  try {
    const v = await verifyBalanceProof(raw, {
      rpcUrl: rpc,
      expectedContract: policy?.reservesContract?.toLowerCase() as Address | undefined,
    });
    const box = byId(BOX);
    box.dataset.state = v.ok ? "valid" : "invalid";
    byId(`${BOX}-title`).textContent = v.ok
      ? "Valid balance proof: your balance is counted, and the attested reserves cover all customers"
      : "Invalid balance proof";
    byId(`${BOX}-reason`).textContent = v.ok ? "" : `Reason: ${v.reason ?? "unknown"}`;
    const facts = byId(`${BOX}-facts`);
    facts.replaceChildren();
    try {
      const p = parseBalanceProof(raw);
      fact(facts, "Account", p.json.account.id);
      fact(facts, "Balance", `${p.json.leaf.balance} ${p.json.snapshot.asset} (minor units)`);
      fact(
        facts,
        "Snapshot",
        `${p.json.snapshot.asset} on ${p.json.snapshot.day} at log size ${p.json.snapshot.logSize}`,
      );
      fact(facts, "Customer liabilities", `${p.json.snapshot.rootSum} (root sum)`);
    } catch {
      // a malformed proof has no facts to show; the format check says why
    }
    const reserves = v.chain?.reserves;
    if (reserves) fact(facts, "Attested reserves", reserves.amount.toString());
    if (policy)
      fact(
        facts,
        "Trust policy",
        policy.reservesContract ? policy.name : `${policy.name} (names no reserves contract)`,
      );
    if (!policy?.reservesContract)
      fact(
        facts,
        "Reserves contract",
        "not pinned: the one the proof names was read; load a trust policy that names it to pin it",
      );
    showChecks(byId(`${BOX}-checks`), v.checks);
  } catch (err) {
    if (err instanceof ChainReadError)
      showMessage(
        "error",
        "No verdict: the chain could not be read",
        `${err.shortMessage}. ${err.details ?? ""}`,
        BOX,
      );
    else
      showMessage(
        "error",
        "No verdict",
        err instanceof CustodyError ? err.shortMessage : err instanceof Error ? err.message : String(err),
        BOX,
      );
  } finally {
    button.disabled = false;
  }
}

export function wireBalanceTab(rpcUrl: () => string): void {
  byId<HTMLFormElement>("balance-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void runBalanceVerification(rpcUrl);
  });
  byId<HTMLInputElement>("balance-file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    byId("balance-file-name").textContent = f.name;
    void f.text().then((t) => (byId<HTMLTextAreaElement>("balance-input").value = t));
  });
  const tabs = [
    { tab: byId("tab-receipt"), panel: byId("receipt-tab") },
    { tab: byId("tab-balance"), panel: byId("balance-tab") },
  ];
  for (const t of tabs)
    t.tab.addEventListener("click", () => {
      for (const o of tabs) {
        o.tab.setAttribute("aria-selected", String(o === t));
        o.panel.hidden = o !== t;
      }
    });
}
