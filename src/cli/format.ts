import type { VerificationResult } from "../verify";

/** Human-readable rendering of a verdict for the terminal. */
export function formatVerdict(v: VerificationResult, subject: string): string {
  const lines: string[] = [];
  if (v.ok) {
    lines.push(`VALID    ${subject}`);
    const h = v.anchoredHead;
    if (h) {
      lines.push(
        `         anchored in head #${h.headIndex} (tree size ${h.treeSize}, root ${h.rootHash})`,
        `         by ${h.contract} on chain ${h.chainId}, block ${h.blockNumber}, ${new Date(h.blockTimestamp * 1000).toISOString()}`,
      );
    }
  } else {
    lines.push(`INVALID  ${subject}`, `         reason: ${v.reason ?? "unknown"}`);
  }
  lines.push("");
  const width = Math.max(...v.checks.map((c) => c.name.length));
  for (const c of v.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}  ${c.detail}`);
  return lines.join("\n");
}
