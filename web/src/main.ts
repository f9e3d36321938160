import { isAddress, type Address } from "viem";
import {
  ApiReadError,
  ChainReadError,
  LeafNotFoundError,
  ReceiptFormatError,
  checkReceiptFormat,
  fetchLeafProof,
  fetchVerifierConfig,
  normalizeLeafHash,
  verifyLeafProof,
  verifyReceipt,
  verifyReceiptUnderPolicy,
  type VerifyOnChainOptions,
} from "../../src/verify";
import { CustodyError } from "../../src/errors";
import { wireBalanceTab } from "./balance";
import { byId } from "./dom";
import { refreshExplorer } from "./explorer";
import { activePolicy, offerSuggestedPolicy, restorePolicy, wirePolicy } from "./policy";
import { showMessage, showVerdict } from "./verdict";

/**
 * The receipt checker page. Everything that decides the verdict runs here, in the browser: the leaf
 * is rebuilt from the receipt, the proof checked with the project's RFC 9162 verifier, and the
 * anchored head read from the chain's RPC. The service is asked only for its suggested settings,
 * for proofs by hash (which are then checked), and for the informational status panel. Under the
 * user's trust policy the chain and contract are pinned and a v2 receipt's checkpoint must carry the
 * log's signature and the witness quorum. Opened as a local file (file://), it asks the service
 * nothing unless a service URL is given: an RPC endpoint and the policy suffice.
 */

const receiptInput = byId<HTMLTextAreaElement>("receipt-input");
const leafHashInput = byId<HTMLInputElement>("leafhash-input");
const rpcInput = byId<HTMLInputElement>("rpc-url");
const contractInput = byId<HTMLInputElement>("contract");
const chainIdInput = byId<HTMLInputElement>("chain-id");
const apiInput = byId<HTMLInputElement>("api-base");
const verifyButton = byId<HTMLButtonElement>("verify-btn");

const params = new URLSearchParams(location.search);
const fileMode = location.protocol === "file:";

function apiBase(): string {
  return apiInput.value.trim();
}

class SettingsError extends Error {}

/** In a local file, the platform is asked nothing unless the user names its URL. */
function platformReachable(): boolean {
  return !fileMode || apiBase() !== "";
}

function chainOptions(): VerifyOnChainOptions {
  const rpcUrl = rpcInput.value.trim();
  if (!rpcUrl) throw new SettingsError("Set the RPC endpoint of a node of the chain (Chain settings).");
  const policy = activePolicy()?.loaded.policy;
  if (policy)
    return {
      rpcUrl,
      expectedContract: policy.anchorContract.toLowerCase() as Address,
      expectedChainId: policy.chainId,
    };
  const contract = contractInput.value.trim();
  if (contract && !(/^0x[0-9a-fA-F]{40}$/.test(contract) && isAddress(contract)))
    throw new SettingsError(`The anchor contract setting is not an address: ${contract}`);
  const chainId = chainIdInput.value.trim();
  if (chainId && !/^[1-9][0-9]*$/.test(chainId))
    throw new SettingsError(`The chain id setting is not a positive integer: ${chainId}`);
  return {
    rpcUrl,
    expectedContract: contract ? (contract.toLowerCase() as Address) : undefined,
    expectedChainId: chainId ? Number(chainId) : undefined,
  };
}

async function loadConfig(): Promise<void> {
  const status = byId("config-status");
  if (!platformReachable()) {
    status.textContent =
      "Opened as a local file: nothing is asked of the platform. Enter an RPC endpoint and load your trust policy.";
    byId<HTMLDetailsElement>("settings").open = true;
    return;
  }
  try {
    const cfg = await fetchVerifierConfig(apiBase());
    offerSuggestedPolicy(cfg.suggestedTrustPolicy, `${apiBase() || location.origin}/v1/config`);
    // Explicit URL parameters win over the service's suggestions.
    if (!rpcInput.value && cfg.rpcUrl) rpcInput.value = cfg.rpcUrl;
    if (!contractInput.value && cfg.custodyAnchor) contractInput.value = cfg.custodyAnchor;
    if (!chainIdInput.value && cfg.chainId) chainIdInput.value = String(cfg.chainId);
    status.textContent = "Settings loaded from this service's /v1/config.";
  } catch (err) {
    status.textContent = `Could not load /v1/config (${err instanceof CustodyError ? err.shortMessage : String(err)}); enter the settings yourself.`;
    byId<HTMLDetailsElement>("settings").open = true;
  }
}

async function runVerification(): Promise<void> {
  const text = receiptInput.value.trim();
  const hash = leafHashInput.value.trim();
  if (!text && !hash) {
    showMessage("error", "Nothing to verify", "Paste or drop a receipt, or type a receipt hash.");
    return;
  }
  let opts: VerifyOnChainOptions;
  try {
    opts = chainOptions();
  } catch (err) {
    byId<HTMLDetailsElement>("settings").open = true;
    showMessage("error", "No verdict", (err as Error).message);
    return;
  }
  showMessage("working", "Verifying…", "Recomputing the entry's hash and reading the chain.");
  verifyButton.disabled = true;
  try {
    const policy = activePolicy();
    if (text) {
      const { receipt } = checkReceiptFormat(text);
      if (policy) {
        const verdict = await verifyReceiptUnderPolicy(text, policy.loaded, opts);
        showVerdict(verdict, { receipt, policyName: policy.loaded.policy.name });
      } else showVerdict(await verifyReceipt(text, opts), { receipt });
    } else {
      if (!platformReachable()) {
        showMessage(
          "error",
          "No verdict",
          "A receipt hash is looked up at the platform's service: paste the receipt itself, or give the service URL.",
        );
        return;
      }
      let leafHash: string;
      try {
        leafHash = normalizeLeafHash(hash);
      } catch (err) {
        showMessage("invalid", "Invalid receipt hash", (err as CustodyError).shortMessage);
        byId("verdict").dataset.state = "invalid";
        return;
      }
      const proof = await fetchLeafProof(apiBase(), leafHash);
      showVerdict(await verifyLeafProof(proof, opts), { leafHash, policyName: policy?.loaded.policy.name });
    }
  } catch (err) {
    if (err instanceof LeafNotFoundError) {
      showMessage(
        "invalid",
        "Not found",
        `${err.shortMessage}: this service has no anchored entry with that hash.`,
      );
    } else if (err instanceof ChainReadError) {
      showMessage(
        "error",
        "No verdict: the chain could not be read",
        `${err.shortMessage}. ${err.details ?? ""}`,
      );
    } else if (err instanceof ApiReadError || err instanceof ReceiptFormatError) {
      showMessage("error", "No verdict: the service's answer is unusable", err.shortMessage);
    } else {
      showMessage("error", "No verdict", err instanceof Error ? err.message : String(err));
    }
  } finally {
    verifyButton.disabled = false;
  }
}

function readFileInto(file: File): void {
  byId("file-name").textContent = file.name;
  void file.text().then((t) => {
    receiptInput.value = t;
    leafHashInput.value = "";
  });
}

function wire(): void {
  byId<HTMLFormElement>("verify-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void runVerification();
  });
  byId("clear-btn").addEventListener("click", () => {
    receiptInput.value = "";
    leafHashInput.value = "";
    byId("file-name").textContent = "";
    byId("verdict").hidden = true;
  });
  byId<HTMLInputElement>("receipt-file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) readFileInto(f);
  });
  const zone = byId("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    const f = e.dataTransfer?.files?.[0];
    if (f) readFileInto(f);
  });
  receiptInput.addEventListener("input", () => {
    if (receiptInput.value.trim()) leafHashInput.value = "";
  });
  leafHashInput.addEventListener("input", () => {
    if (leafHashInput.value.trim()) receiptInput.value = "";
  });
  apiInput.addEventListener("change", () => {
    void loadConfig();
    if (platformReachable()) void refreshExplorer(apiBase());
  });
  wirePolicy();
  wireBalanceTab(() => rpcInput.value.trim());
}

async function start(): Promise<void> {
  // ?api=, ?rpc=, ?contract=, ?chainId= and ?hash= prefill the form (links from statements, e-mails).
  apiInput.value = params.get("api") ?? "";
  rpcInput.value = params.get("rpc") ?? "";
  contractInput.value = params.get("contract") ?? "";
  chainIdInput.value = params.get("chainId") ?? "";
  leafHashInput.value = params.get("hash") ?? "";
  wire();
  restorePolicy();
  await loadConfig();
  document.body.dataset.ready = "true";
  if (!platformReachable()) {
    byId("explorer-status").textContent = "Opened as a local file: the platform's status is not asked for.";
    byId("anchors-body").replaceChildren();
    byId("offline-note").hidden = true;
    return;
  }
  void refreshExplorer(apiBase());
  setInterval(() => {
    if (platformReachable()) void refreshExplorer(apiBase());
  }, 30_000);
}

void start();
