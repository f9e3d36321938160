import type { AuditProgress } from "./audit";

/**
 * One line of a terminal progress bar, e.g.
 * `events [##########··········]  50.0%  500000/1000000  180k/s  ETA 3s`.
 */
export function formatProgress(p: AuditProgress, elapsedMs: number, width = 24): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(frac * width);
  const bar = "#".repeat(filled) + "·".repeat(width - filled);
  const rate = elapsedMs > 0 ? (p.done * 1000) / elapsedMs : 0;
  const rateText = rate >= 1000 ? `${Math.round(rate / 1000)}k/s` : `${Math.round(rate)}/s`;
  const eta = rate > 0 && p.done < p.total ? `  ETA ${Math.ceil((p.total - p.done) / rate)}s` : "";
  return `${p.phase.padEnd(7)} [${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${p.done}/${p.total}  ${rateText}${eta}`;
}
