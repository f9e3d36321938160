import type { Ledger, TransferInput } from "../../src/ledger";

/**
 * The ledger benches' shared workload: ACCOUNTS customer accounts funded from one bank mirror, and
 * transfers between two random customers with time-ordered ids (a zero-padded counter, as clients
 * using UUIDv7 or similar would send).
 */
export const ACCOUNTS = 10_000;

/** A seeded generator (LCG) in [0, 1): the same seed gives the same workload on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
}

/** `n` transfers between two distinct random customers; ids are `prefix` + a counter of this process. */
let seq = 0;
export function nextTransfers(prefix: string, n: number, rnd: () => number): TransferInput[] {
  const out: TransferInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * ACCOUNTS);
    let b = Math.floor(rnd() * (ACCOUNTS - 1));
    if (b >= a) b++;
    out[i] = {
      id: `${prefix}${(seq++).toString().padStart(12, "0")}`,
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
