import type { AnchoredHead, AnchorRecord } from "../../src/protocol/head";
import { ago, byId, el, isoTime } from "./dom";

/**
 * The log status panel: log size, the latest anchors, anchoring lag and alarms, from the service's
 * public endpoints. Informational only (nothing here is verified); renders what is available.
 */

/** An anchor as GET /v1/log/anchors serves it. */
type AnchorJson = AnchoredHead & Pick<AnchorRecord, "txHash">;

async function getJson(url: string): Promise<{ status: number; body: any } | undefined> {
  try {
    const res = await fetch(url, { headers: { accept: "application/json" } });
    const body = await res.json().catch(() => undefined);
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

export async function refreshExplorer(apiBase: string): Promise<void> {
  const base = apiBase.replace(/\/+$/, "");
  const [head, anchors, ready, health] = await Promise.all([
    getJson(`${base}/v1/log/head`),
    getJson(`${base}/v1/log/anchors?limit=8`),
    getJson(`${base}/v1/ready`),
    getJson(`${base}/v1/health`),
  ]);
  const missing: string[] = [];

  const treeSize: number | undefined = head?.status === 200 ? head.body?.treeSize : undefined;
  byId("log-size").textContent =
    typeof treeSize === "number" ? `${treeSize.toLocaleString("en")} entries` : "—";
  if (typeof treeSize !== "number") missing.push("log head");

  const list: AnchorJson[] =
    anchors?.status === 200 && Array.isArray(anchors.body?.anchors) ? anchors.body.anchors : [];
  const latest: AnchorJson | undefined = list[0] ?? (head?.body?.latestAnchor as AnchorJson | undefined);
  const latestEl = byId("latest-anchor");
  if (latest) {
    latestEl.textContent = `#${latest.headIndex} · size ${latest.treeSize} · ${ago(latest.blockTimestamp)}`;
    latestEl.title = latest.rootHash;
  } else latestEl.textContent = "none yet";

  const relayer = ready?.body?.checks?.relayer;
  const lagParts: string[] = [];
  if (typeof relayer?.lagEntries === "number") lagParts.push(`${relayer.lagEntries} entries`);
  else if (typeof treeSize === "number" && latest)
    lagParts.push(`${Math.max(0, treeSize - latest.treeSize)} entries`);
  if (typeof relayer?.lagSeconds === "number") lagParts.push(`${Math.round(relayer.lagSeconds)} s`);
  byId("anchor-lag").textContent = lagParts.length ? lagParts.join(" · ") : "—";

  const alarmsEl = byId("alarms");
  alarmsEl.replaceChildren();
  const alarm = relayer?.alarm;
  const notReady = ready?.body && ready.body.ready === false;
  if (alarm) {
    alarmsEl.append(el("span", "ALARM", { class: "badge bad" }), ` ${alarm.kind}: ${alarm.message ?? ""}`);
  } else if (notReady) {
    const failing = Object.entries(ready.body.checks ?? {})
      .filter(([, c]: [string, any]) => c && c.ok === false)
      .map(([k, c]: [string, any]) => `${k}${c.message ? ` (${c.message})` : ""}`);
    alarmsEl.append(el("span", "NOT READY", { class: "badge bad" }), ` ${failing.join("; ")}`);
  } else if (ready?.status === 200 || health?.status === 200) {
    alarmsEl.append(el("span", "none", { class: "badge ok" }));
  } else {
    alarmsEl.textContent = "—";
    missing.push("health");
  }

  const body = byId("anchors-body");
  body.replaceChildren();
  if (list.length === 0) {
    const tr = el("tr");
    tr.append(el("td", anchors ? "No anchors yet." : "Not available.", { colspan: "4", class: "muted" }));
    body.append(tr);
    if (!anchors || anchors.status !== 200) missing.push("anchors");
  }
  for (const a of list) {
    const tr = el("tr");
    tr.title = `root ${a.rootHash}\ntx ${a.txHash}`;
    tr.append(
      el("td", `#${a.headIndex}`, { class: "num" }),
      el("td", a.treeSize.toLocaleString("en"), { class: "num" }),
      el("td", String(a.blockNumber), { class: "num" }),
      el("td", isoTime(a.blockTimestamp)),
    );
    body.append(tr);
  }
  const status = byId("explorer-status");
  status.textContent = missing.length
    ? `Not available from this service: ${missing.join(", ")}.`
    : `Updated ${new Date().toLocaleTimeString("en-GB")}. Informational; verify receipts above.`;
  // Tells scripts (and tests) that the panel shows fetched data, not the page's placeholders.
  status.dataset.refreshes = String(Number(status.dataset.refreshes ?? "0") + 1);
}
