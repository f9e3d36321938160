import type { Ledger, TransferInput } from "../../src/ledger";

/**
 * The ledger benches' shared workload: ACCOUNTS customer accounts funded from one bank mirror, and
 * transfers between two random customers with time-ordered ids, as clients using UUIDv7 or ULIDs
 * send them (see nextTransfers).
 */
export const ACCOUNTS = 10_000;

/** A seeded generator (LCG) in [0, 1): the same seed gives the same workload on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
}

/**
 * `n` transfers between two distinct random customers. Ids are time-ordered across processes, as
 * UUIDv7 ids from several clients are: the time in milliseconds, then `tag` (one per process or
 * phase, so ids never collide), then a counter of this process. With the tag first, each writer
 * process of bench:ledger had an id range of its own, and every batch the main process sent after
 * them went into the middle of the id indexes, not at their end as with real time-ordered ids (more
 * server CPU per transfer in a one-off comparison, BENCHMARKS.md 2026-12-05).
 */
let seq = 0;
export function nextTransfers(tag: string, n: number, rnd: () => number): TransferInput[] {
  const time = Date.now().toString(36).padStart(9, "0");
  const out: TransferInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ACCOUNTS);
    let b = Math.floor(rnd() * (ACCOUNTS - 1));
    if (b >= a) b++;
    out[i] = {
      id: `${time}-${tag}-${(seq++).toString(36).padStart(8, "0")}`,
      debitAccountId: `c${a}`,
      creditAccountId: `c${b}`,
      amount: 1n + BigInt(i % 50),
      kind: "transfer",
    };
  }
  return out;
}

/** Opens the bank mirror and the customers c0 … c(ACCOUNTS−1), and funds each customer. */
export async function seedAccounts(ledger: Ledger): Promise<void> {
  await ledger.openAccount({ id: "bank", type: "bank_mirror", asset: "EUR", scale: 2 });
  // 64 at a time: concurrent calls share commits (one at a time took minutes on PostgreSQL).
  for (let i = 0; i < ACCOUNTS; i += 64)
    await Promise.all(
      Array.from({ length: Math.min(64, ACCOUNTS - i) }, (_, k) =>
        ledger.openAccount({ id: `c${i + k}`, type: "customer", asset: "EUR", scale: 2 }),
      ),
    );
  for (let i = 0; i < ACCOUNTS; i += 1000)
    await ledger.transferBatch(
      Array.from({ length: 1000 }, (_, k) => ({
        id: `fund-${i + k}`,
        debitAccountId: "bank",
        creditAccountId: `c${i + k}`,
        amount: 10n ** 15n,
        kind: "deposit" as const,
      })),
    );
}
