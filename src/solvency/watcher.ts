import type { Address, Hex, PublicClient } from "viem";
import { Gauge, type Registry } from "prom-client";
import type { Database } from "../db/database";
import type { Ledger } from "../ledger/ledger";
import { readSolvencyEvents } from "../chain/actions/read-solvency-events";
import { dayOfNumber } from "../protocol/balance-proof-v1";
import { documentHashOf } from "./snapshots";
import { run } from "../db/sql";

/** A day whose attested reserves fell short of the committed liabilities (ReservesShortfall on chain). */
export interface ReservesShortfall {
  asset: string;
  day: string;
  reserves: bigint;
  liabilities: bigint;
  txHash: Hex;
}

export interface SolvencyStatus {
  /** False while any shortfall is known: the highest-severity alarm. */
  ok: boolean;
  shortfalls: ReservesShortfall[];
  /** Last chain block scanned. */
  scannedBlock: number;
}

export interface SolvencyWatcherOptions {
  db: Database;
  publicClient: PublicClient;
  address: Address;
  /** First block to scan (the deployment block). */
  fromBlock: number;
  facts?: Pick<Ledger, "recordFact">;
  /** Registry for `custody_reserves_shortfall` (per asset and day, 1 while short). */
  metrics?: Registry;
}

/** The RESERVES_ATTESTED fact's document: the attestation as read from the chain. */
export function attestationDocument(e: {
  asset: string;
  day: string;
  reserves: bigint;
  statementHash: Hex;
  custodian: Address;
  txHash: Hex;
}): string {
  return JSON.stringify({
    version: "custody-reserves-attestation-v1",
    asset: e.asset,
    day: e.day,
    reserves: e.reserves.toString(),
    statementHash: e.statementHash.toLowerCase(),
    custodian: e.custodian.toLowerCase(),
    txHash: e.txHash.toLowerCase(),
  });
}

/**
 * Follows CustodySolvency: each attestation seen on chain is mirrored and recorded as a
 * RESERVES_ATTESTED fact (idempotent by id `reserves:<asset>:<day>`); each ReservesShortfall raises
 * the alarm shown on /v1/ready and in `custody_reserves_shortfall`. Rescanning from the deployment
 * block after a restart rebuilds the same state.
 */
export class SolvencyWatcher {
  readonly #o: SolvencyWatcherOptions;
  #next: number;
  readonly #shortfalls = new Map<string, ReservesShortfall>();
  readonly #gauge?: Gauge<"asset" | "day">;

  constructor(o: SolvencyWatcherOptions) {
    this.#o = o;
    this.#next = o.fromBlock;
    if (o.metrics)
      this.#gauge =
        (o.metrics.getSingleMetric("custody_reserves_shortfall") as Gauge<"asset" | "day"> | undefined) ??
        new Gauge({
          name: "custody_reserves_shortfall",
          help: "1 while the custodian's attested reserves for (asset, day) are below the committed liabilities (highest-severity alarm)",
          labelNames: ["asset", "day"] as const,
          registers: [o.metrics],
        });
  }

  /** Scans new blocks once; returns the status after it. */
  async poll(): Promise<SolvencyStatus> {
    // cacheTime 0: viem caches the block number for its polling interval, which would hide a fresh block.
    const head = Number(await this.#o.publicClient.getBlockNumber({ cacheTime: 0 }));
    if (head >= this.#next) {
      const events = await readSolvencyEvents(this.#o.publicClient, {
        address: this.#o.address,
        fromBlock: BigInt(this.#next),
        toBlock: BigInt(head),
      });
      for (const e of events) {
        const day = dayOfNumber(e.dayNumber);
        if (e.kind === "ReservesAttested") {
          await run(
            this.#o.db,
            `INSERT INTO solvency_attestations (asset, day, reserves, statement_hash, custodian, tx_hash, block_number)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
            [e.asset, day, e.reserves.toString(), e.statementHash, e.custodian, e.txHash, e.blockNumber],
          );
          await this.#o.facts?.recordFact({
            id: `reserves:${e.asset}:${day}`,
            kind: "RESERVES_ATTESTED",
            documentHash: documentHashOf(attestationDocument({ ...e, day })),
            asset: e.asset,
            amount: e.reserves,
          });
        } else if (e.kind === "ReservesShortfall") {
          this.#shortfalls.set(`${e.asset}|${day}`, {
            asset: e.asset,
            day,
            reserves: e.reserves,
            liabilities: e.liabilities,
            txHash: e.txHash,
          });
          this.#gauge?.set({ asset: e.asset, day }, 1);
        } else {
          this.#gauge?.set({ asset: e.asset, day }, 0);
        }
      }
      this.#next = head + 1;
    }
    return this.status();
  }

  status(): SolvencyStatus {
    const shortfalls = [...this.#shortfalls.values()];
    return { ok: shortfalls.length === 0, shortfalls, scannedBlock: this.#next - 1 };
  }
}
