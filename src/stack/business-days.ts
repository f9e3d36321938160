import type { Ledger } from "../ledger";
import { addDays } from "../bank/statement";
import { dayOf } from "./clock";

/** Business days from `first` up to (not including) the day of `now`: the days that have ended. */
export function* endedDays(first: string, now: number): Generator<string> {
  const today = dayOf(now);
  for (let d = first; d < today; d = addDays(d, 1)) yield d;
}

/**
 * The log size at a cut-off: how many events the ledger had committed at or before `cutoff`
 * (events are committed in sequence with non-decreasing times, so a binary search finds it).
 */
export async function logSizeAt(
  ledger: Pick<Ledger, "eventCount" | "getEvents">,
  cutoff: number,
): Promise<number> {
  let lo = 0;
  let hi = await ledger.eventCount();
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [e] = await ledger.getEvents(mid, 1);
    if (e && e.createdAt <= cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The assets the custodian bank holds for the platform: those of its custodian-mirror accounts. */
export async function custodyAssets(ledger: Pick<Ledger, "listAccounts">): Promise<string[]> {
  const mirrors = await ledger.listAccounts({ type: "bank_mirror", limit: 1000 });
  return [...new Set(mirrors.map((m) => m.asset))].sort();
}
