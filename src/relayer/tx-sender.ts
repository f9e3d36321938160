import {
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
  keccak256,
} from "viem";
import type { Database } from "../db/database";
import { RelayerTransactionNotMinedError, RelayerTransactionRevertedError } from "./errors";
import type { FaultHook, FaultStep } from "./faults";
import type { Logger } from "../logging";
import { bumpFees } from "./policy";
import { all, run } from "../db/sql";

/** What the relayer wants mined; the sender adds nonce, gas and fees. */
export interface TxRequest {
  to: Address;
  data: Hex;
  /** Free-form JSON kept with the pending row, e.g. the tree size being anchored. */
  meta?: Record<string, string | number>;
}

export interface PendingTx {
  txHash: Hex;
  nonce: number;
  kind: string;
  rawTx: Hex;
  request: TxRequest & { gas: string; maxFeePerGas: string; maxPriorityFeePerGas: string };
  sentAt: number;
}

export interface MinedTx {
  receipt: TransactionReceipt;
  pending: PendingTx;
}

export interface TxSenderOptions {
  db: Database;
  publicClient: PublicClient;
  account: LocalAccount;
  chainId: number;
  log: Logger;
  /** Replace a transaction with higher fees once it has waited this long unmined (default 20 s). */
  stuckAfterMs?: number;
  /** Receipt polling interval (default 200 ms). */
  pollMs?: number;
  /** Give up waiting (and let the caller reconcile and retry) after this long (default 120 s). */
  maxWaitMs?: number;
  faults?: FaultHook;
  onMined?: (kind: string, receipt: TransactionReceipt) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PendingRow {
  tx_hash: string;
  nonce: number | string;
  kind: string;
  raw_tx: string;
  request: string;
  sent_at: number | string;
}

/**
 * Sends the relayer's transactions with crash-safe nonce management: each transaction is signed
 * locally, written to `relayer_pending_txs` *before* it is broadcast, and only forgotten once a
 * transaction with its nonce is mined. After a restart, `inFlight()` returns what may still be
 * mined; `waitMined` rebroadcasts a transaction the node forgot and replaces a stuck one (same
 * nonce, same calldata, higher fees), so at most one of them is ever mined.
 */
export class TxSender {
  readonly address: Address;
  constructor(private readonly o: TxSenderOptions) {
    this.address = o.account.address;
  }

  private async fault(step: FaultStep | undefined) {
    if (step && this.o.faults) await this.o.faults(step);
  }

  /** Pending rows, oldest nonce first (replacements of one nonce share it). */
  async inFlight(kind?: string): Promise<PendingTx[]> {
    const rows = await all<PendingRow>(
      this.o.db,
      kind === undefined
        ? "SELECT * FROM relayer_pending_txs ORDER BY nonce, sent_at"
        : "SELECT * FROM relayer_pending_txs WHERE kind = ? ORDER BY nonce, sent_at",
      kind === undefined ? [] : [kind],
    );
    return rows.map((r) => ({
      txHash: r.tx_hash as Hex,
      nonce: Number(r.nonce),
      kind: r.kind,
      rawTx: r.raw_tx as Hex,
      request: JSON.parse(r.request),
      sentAt: Number(r.sent_at),
    }));
  }

  private async nextNonce(): Promise<number> {
    const chain = await this.o.publicClient.getTransactionCount({
      address: this.address,
      blockTag: "pending",
    });
    const rows = await all<{ n: number | string | null }>(
      this.o.db,
      "SELECT MAX(nonce) AS n FROM relayer_pending_txs",
    );
    const local = rows[0]?.n === null || rows[0]?.n === undefined ? -1 : Number(rows[0].n);
    return Math.max(chain, local + 1);
  }

  private async signAndRecord(
    kind: string,
    nonce: number,
    req: TxRequest,
    gas: bigint,
    fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  ): Promise<PendingTx> {
    const rawTx = await this.o.account.signTransaction({
      type: "eip1559",
      chainId: this.o.chainId,
      nonce,
      to: req.to,
      data: req.data,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const txHash = keccak256(rawTx);
    const request = {
      ...req,
      gas: gas.toString(),
      maxFeePerGas: fees.maxFeePerGas.toString(),
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
    };
    const sentAt = Date.now();
    await run(
      this.o.db,
      "INSERT INTO relayer_pending_txs (tx_hash, nonce, kind, raw_tx, request, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
      [txHash, nonce, kind, rawTx, JSON.stringify(request), sentAt],
    );
    return { txHash, nonce, kind, rawTx, request, sentAt };
  }

  private async broadcast(p: PendingTx): Promise<void> {
    try {
      await this.o.publicClient.sendRawTransaction({ serializedTransaction: p.rawTx });
    } catch (e) {
      // Already in the pool or already mined: both are fine, `waitMined` sorts it out.
      const msg = String((e as Error).message ?? e).toLowerCase();
      if (/already known|already imported|known transaction|nonce too low|already exists/.test(msg)) return;
      throw e;
    }
  }

  /**
   * Signs, records and broadcasts a new transaction. The gas limit is estimated (plus 20 %), so a
   * call that would revert fails here, before anything is recorded.
   */
  async send(kind: string, req: TxRequest, steps: { beforeSend?: FaultStep; afterSend?: FaultStep } = {}) {
    const gas = await this.o.publicClient.estimateGas({ account: this.address, to: req.to, data: req.data });
    const fees = await this.o.publicClient.estimateFeesPerGas();
    const nonce = await this.nextNonce();
    const p = await this.signAndRecord(kind, nonce, req, (gas * 12n) / 10n, {
      maxFeePerGas: fees.maxFeePerGas!,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
    });
    await this.fault(steps.beforeSend);
    await this.broadcast(p);
    this.o.log.info({ kind, txHash: p.txHash, nonce, ...req.meta }, "transaction sent");
    await this.fault(steps.afterSend);
    return p;
  }

  /**
   * The chain's nonce can fall behind ours when the node loses its last blocks (a local node killed
   * between two state dumps, a reorg): the transactions mined there were forgotten on their receipts
   * and are gone, so a transaction of ours with a higher nonce would wait forever. Each missing nonce
   * below `nonce` is resent from its pending row, or else taken by an empty transfer to ourselves
   * (recorded first, like any transaction), so the waiting one can be mined.
   */
  private async fillNonceGap(nonce: number): Promise<void> {
    const pc = this.o.publicClient;
    const next = await pc.getTransactionCount({ address: this.address, blockTag: "pending" });
    if (next >= nonce) return;
    const rows = await this.inFlight();
    for (let n = next; n < nonce; n++) {
      const own = rows.filter((r) => r.nonce === n);
      if (own.length > 0) {
        await this.broadcast(own[own.length - 1]!);
        continue;
      }
      const fees = await pc.estimateFeesPerGas();
      const filler = await this.signAndRecord("nonce-gap", n, { to: this.address, data: "0x" }, 21_000n, {
        maxFeePerGas: fees.maxFeePerGas!,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
      });
      this.o.log.warn({ nonce: n, waiting: nonce, txHash: filler.txHash }, "filling a nonce the chain lost");
      await this.broadcast(filler);
    }
  }

  private async forgetNonce(nonce: number) {
    await run(this.o.db, "DELETE FROM relayer_pending_txs WHERE nonce = ?", [nonce]);
  }

  /**
   * Waits until a transaction with `p.nonce` is mined and returns its receipt (whichever of the
   * original and its replacements won). Throws `RelayerTransactionRevertedError` if it reverted,
   * and rethrows RPC errors (the caller retries with backoff; the pending row stays).
   */
  async waitMined(p: PendingTx): Promise<MinedTx> {
    const stuckAfter = this.o.stuckAfterMs ?? 20_000;
    const deadline = Date.now() + (this.o.maxWaitMs ?? 120_000);
    const pc = this.o.publicClient;
    for (;;) {
      const versions = (await this.inFlight()).filter((x) => x.nonce === p.nonce);
      if (versions.length === 0) versions.push(p);
      for (const v of versions) {
        const receipt = await pc.getTransactionReceipt({ hash: v.txHash }).catch(() => undefined);
        if (receipt) {
          await this.forgetNonce(p.nonce);
          this.o.onMined?.(v.kind, receipt);
          if (receipt.status !== "success") {
            throw new RelayerTransactionRevertedError(v.txHash, {
              details: `kind ${v.kind}, nonce ${v.nonce}`,
            });
          }
          return { receipt, pending: v };
        }
      }
      const mined = await pc.getTransactionCount({ address: this.address, blockTag: "latest" });
      if (mined > p.nonce) {
        // The nonce was used, but by none of ours that we can see: re-check once more, then give up.
        await sleep(this.o.pollMs ?? 200);
        let found: TransactionReceipt | undefined;
        for (const v of versions)
          found ??= await pc.getTransactionReceipt({ hash: v.txHash }).catch(() => undefined);
        if (!found) {
          await this.forgetNonce(p.nonce);
          throw new RelayerTransactionRevertedError(p.txHash, {
            details: `nonce ${p.nonce} was consumed by a transaction this relayer did not record`,
          });
        }
        continue;
      }
      await this.fillNonceGap(p.nonce);
      const newest = versions[versions.length - 1]!;
      if (Date.now() - newest.sentAt >= stuckAfter) {
        const market = await pc.estimateFeesPerGas();
        const fees = bumpFees(
          {
            maxFeePerGas: BigInt(newest.request.maxFeePerGas),
            maxPriorityFeePerGas: BigInt(newest.request.maxPriorityFeePerGas),
          },
          { maxFeePerGas: market.maxFeePerGas!, maxPriorityFeePerGas: market.maxPriorityFeePerGas! },
        );
        const { gas, maxFeePerGas: _a, maxPriorityFeePerGas: _b, ...req } = newest.request;
        const r = await this.signAndRecord(newest.kind, newest.nonce, req, BigInt(gas), fees);
        this.o.log.warn(
          {
            kind: r.kind,
            nonce: r.nonce,
            replaced: newest.txHash,
            txHash: r.txHash,
            maxFeePerGas: fees.maxFeePerGas,
          },
          "replacing stuck transaction",
        );
        await this.broadcast(r);
      } else {
        // The node may have lost it (restart without a persisted pool): make sure it is known.
        const known = await pc.getTransaction({ hash: newest.txHash }).catch(() => undefined);
        if (!known) await this.broadcast(newest);
      }
      if (Date.now() > deadline) throw new RelayerTransactionNotMinedError(p.nonce);
      await sleep(this.o.pollMs ?? 200);
    }
  }
}
