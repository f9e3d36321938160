/**
 * Pure decisions of the anchor loop (no I/O), so they can be tested exhaustively.
 */

export interface AnchorPolicy {
  /** Anchor as soon as this many entries are unanchored. */
  batchSize: number;
  /** …or once the oldest unanchored entry is this old (ms). */
  maxDelayMs: number;
  /** Never put more than this many new entries in one head (keeps one catch-up step bounded). */
  maxBatch?: number;
}

/**
 * The tree size to anchor next, or undefined when nothing should be anchored yet.
 * Requires `anchoredSize <= logSize`.
 */
export function nextAnchorSize(p: {
  policy: AnchorPolicy;
  logSize: number;
  anchoredSize: number;
  /** Ledger time (ms) of the oldest unanchored entry; undefined when there is none. */
  oldestUnanchoredAt?: number;
  now: number;
}): number | undefined {
  const pending = p.logSize - p.anchoredSize;
  if (pending <= 0) return undefined;
  const due =
    pending >= p.policy.batchSize ||
    (p.oldestUnanchoredAt !== undefined && p.now - p.oldestUnanchoredAt >= p.policy.maxDelayMs);
  if (!due) return undefined;
  const max = p.policy.maxBatch ?? Number.MAX_SAFE_INTEGER;
  return p.anchoredSize + Math.min(pending, max);
}

/** Exponential backoff with full jitter: a delay in [0, min(cap, base·2^attempt)). */
export function backoffDelay(
  attempt: number,
  opts: { baseMs?: number; capMs?: number; random?: () => number } = {},
) {
  const base = opts.baseMs ?? 250;
  const cap = opts.capMs ?? 30_000;
  const r = opts.random ?? Math.random;
  return Math.floor(r() * Math.min(cap, base * 2 ** Math.min(attempt, 30)));
}

/**
 * Fees for a replacement transaction. Nodes accept a replacement with the same nonce only if both
 * fees rise by at least 10 %; we raise by `percent` (default 25 %) and never go below the market.
 */
export function bumpFees(
  prev: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  market: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  percent = 25n,
): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } {
  const up = (v: bigint) => v + (v * percent + 99n) / 100n + 1n;
  const prio =
    up(prev.maxPriorityFeePerGas) > market.maxPriorityFeePerGas
      ? up(prev.maxPriorityFeePerGas)
      : market.maxPriorityFeePerGas;
  let max = up(prev.maxFeePerGas) > market.maxFeePerGas ? up(prev.maxFeePerGas) : market.maxFeePerGas;
  if (max < prio) max = prio;
  return { maxFeePerGas: max, maxPriorityFeePerGas: prio };
}

/** Confirmations a block has when `head` is the latest block (the block itself counts as 1). */
export function confirmationsOf(blockNumber: number, head: number): number {
  return head >= blockNumber ? head - blockNumber + 1 : 0;
}

/** Whether an anchor in `blockNumber` is final at `head` with the given depth (0 = final at once). */
export function isFinal(blockNumber: number, head: number, depth: number): boolean {
  return depth <= 0 || confirmationsOf(blockNumber, head) >= depth;
}
