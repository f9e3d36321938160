import { randomBytes } from "node:crypto";
import { toHex, type Address, type Hex } from "viem";
import { devAccount } from "../../src/chain/anvil";
import { createChainClients } from "../../src/chain/clients";
import { DEV_ROLES } from "../../src/chain/dev";
import { decideEscrow } from "../../src/chain/actions/decide-escrow";
import { findEscrow } from "../../src/chain/actions/find-escrow";
import { writeCamt053 } from "../../src/bank/camt053-writer";
import { deriveStatement } from "../../src/bank/simulated-bank";
import type { LedgerMovement } from "../../src/bank/reconcile";
import { Journal, send, type JournalEntry } from "./journal";
import { sleep } from "./stack-process";

/** Seeded PRNG (mulberry32): the same seed gives the same choices and fault schedule. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CUSTOMERS = Array.from({ length: 8 }, (_, i) => `c${i}`);
export const MIRROR = "bank-eur";
export const IBAN = "DE89370400440532013000";

export interface WorkloadTarget {
  apiUrl: string;
  rpcUrl: string;
  chainId: number;
  escrow: Address;
  keys: { platform: string; custodian: string };
  /** False while the stack is down (killed and restarting): workers wait instead of hammering it. */
  up(): boolean;
}

/**
 * Escrow approvers: funded development accounts, one decision lane each (a lane sends its
 * transactions one after the other, so nonces never race), any one of which may approve.
 */
const APPROVER_INDICES = [DEV_ROLES.approverPayer, DEV_ROLES.approverPayee, 6, 7];

export interface SavedReceipt {
  transferId: string;
  savedAt: string;
  receipt: unknown;
}

/**
 * The mixed workload: single transfers, atomic batches, escrows (opened through the API, decided on
 * chain by the development approver: released by approval or refunded after expiry) and camt.053
 * statements from the custodian bank. Every request is journalled under its own id.
 */
export class Workload {
  readonly journal = new Journal();
  readonly receipts: SavedReceipt[] = [];
  /** Highest ledger sequence an acknowledged answer carried. */
  maxAckedSequence = -1;
  #n = 0;
  #stopped = false;
  #deposits: LedgerMovement[] = [];
  /** The custodian's running balance: each statement opens at the previous one's closing (a chain). */
  #bankBalance = 0n;
  readonly run: string;

  constructor(
    readonly t: WorkloadTarget,
    readonly random: () => number,
  ) {
    this.run = toHex(randomBytes(3)).slice(2);
  }

  #id(prefix: string): string {
    return `soak-${this.run}-${prefix}${++this.#n}`;
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }
  #amount(min: number, max: number): string {
    return String(min + Math.floor(this.random() * (max - min)));
  }

  async submit(e: JournalEntry): Promise<JournalEntry> {
    await send(this.journal, e, this.t.apiUrl, this.t.keys);
    if (e.state === "acked") {
      const r = e.response;
      const seqs: number[] =
        e.kind === "batch"
          ? (r?.transfers ?? []).map((x: any) => x.sequence)
          : [r?.sequence ?? r?.hold?.sequence];
      for (const s of seqs) if (typeof s === "number" && s > this.maxAckedSequence) this.maxAckedSequence = s;
    }
    return e;
  }

  /** Accounts and opening deposits; retried until every one is answered. */
  async setup(): Promise<void> {
    const accounts: [string, string, Record<string, string>?][] = [
      [MIRROR, "bank_mirror", { bankAccount: IBAN }],
      ["escrow-eur", "escrow"],
      ...CUSTOMERS.map((c) => [c, "customer"] as [string, string]),
    ];
    for (const [id, type, metadata] of accounts)
      await this.#untilAnswered(
        this.journal.add({
          id,
          kind: "account",
          method: "POST",
          path: "/accounts",
          body: { id, type, asset: "EUR", scale: 2, ...(metadata ? { metadata } : {}) },
          contentType: "application/json",
          key: "platform",
        }),
      );
    for (const c of CUSTOMERS) await this.#untilAnswered(this.#deposit(c, "100000000"));
  }

  async #untilAnswered(e: JournalEntry): Promise<void> {
    for (let i = 0; i < 120 && e.state === "unanswered"; i++) {
      if (i > 0) await sleep(500);
      await this.submit(e);
    }
    if (e.state !== "acked") throw new Error(`setup request ${e.id} failed: ${e.error ?? e.status}`);
  }

  #deposit(to: string, amount: string): JournalEntry {
    const id = this.#id("d");
    return this.journal.add({
      id,
      kind: "transfer",
      method: "POST",
      path: "/transfers",
      body: {
        id,
        debitAccountId: MIRROR,
        creditAccountId: to,
        amount,
        kind: "deposit",
        metadata: { endToEndId: `E2E-${id}` },
      },
      contentType: "application/json",
      key: "platform",
    });
  }

  #transferBody(id: string) {
    const from = this.#pick(CUSTOMERS);
    let to = this.#pick(CUSTOMERS);
    if (to === from) to = CUSTOMERS[(CUSTOMERS.indexOf(from) + 1) % CUSTOMERS.length]!;
    return { id, debitAccountId: from, creditAccountId: to, amount: this.#amount(1, 1000), kind: "transfer" };
  }

  /** One request of a randomly chosen kind. */
  next(): JournalEntry {
    const r = this.random();
    const json = { method: "POST" as const, contentType: "application/json", key: "platform" as const };
    if (r < 0.5) {
      const id = this.#id("t");
      return this.journal.add({
        ...json,
        id,
        kind: "transfer",
        path: "/transfers",
        body: this.#transferBody(id),
      });
    }
    if (r < 0.7) {
      const id = this.#id("b");
      const n = 2 + Math.floor(this.random() * 4);
      const transfers = Array.from({ length: n }, (_, i) => this.#transferBody(`${id}-${i}`));
      return this.journal.add({ ...json, id, kind: "batch", path: "/transfers/batch", body: { transfers } });
    }
    if (r < 0.86) return this.#deposit(this.#pick(CUSTOMERS), this.#amount(100, 10_000));
    if (r < 0.95) {
      const id = this.#id("e");
      const plan = this.random() < 0.5 ? "release" : "refund";
      const payer = this.#pick(CUSTOMERS);
      const payee = CUSTOMERS[(CUSTOMERS.indexOf(payer) + 3) % CUSTOMERS.length]!;
      const now = Math.floor(Date.now() / 1000);
      return this.journal.add({
        ...json,
        id,
        kind: "escrow",
        path: "/escrows",
        plan,
        body: {
          id,
          payer,
          payee,
          asset: "EUR",
          amount: this.#amount(100, 50_000),
          approvers: APPROVER_INDICES.map((i) => devAccount(i).address),
          threshold: 1,
          // Refunds wait for expiry; long enough that a resend after a restart still finds it open.
          expiresAt: now + (plan === "refund" ? 40 : 3600),
          agreementHash: toHex(randomBytes(32)),
        },
      });
    }
    return this.#statement();
  }

  /** A camt.053 statement of the custodian bank listing the deposits acknowledged since the last one. */
  #statement(): JournalEntry {
    const id = this.#id("s");
    const day = new Date().toISOString().slice(0, 10);
    const movements = this.#deposits.splice(0, 50);
    const s = deriveStatement({
      id,
      account: IBAN,
      currency: "EUR",
      exponent: 2,
      day,
      opening: this.#bankBalance,
      openingDate: day,
      cutoff: Date.now(),
      movements,
      servicerRefPrefix: id,
    });
    this.#bankBalance = s.closing.amount;
    const xml = writeCamt053([s], { version: "08", messageId: id, createdAt: new Date().toISOString() });
    return this.journal.add({
      id,
      kind: "statement",
      method: "POST",
      path: "/bank/statements",
      body: xml,
      contentType: "application/xml",
      key: "custodian",
    });
  }

  async #worker(pauseMs: number): Promise<void> {
    while (!this.#stopped) {
      if (!this.t.up()) {
        await sleep(100);
        continue;
      }
      const e = await this.submit(this.next());
      if (e.state === "acked" && e.kind === "transfer" && (e.body as any).kind === "deposit") {
        const b = e.body as any;
        this.#deposits.push({
          transferId: b.id,
          direction: "credit",
          amount: BigInt(b.amount),
          sequence: e.response.sequence,
          createdAt: Date.now(),
          valueDate: new Date().toISOString().slice(0, 10),
          endToEndId: b.metadata.endToEndId,
          reversal: false,
        });
      }
      await sleep(pauseMs);
    }
  }

  readonly decided = new Set<string>();
  #lanes: ReturnType<typeof createChainClients>[] = [];

  /** Decides escrows on chain as their plan says, once the relayer has created them there. */
  async #decider(): Promise<void> {
    while (!this.#stopped) {
      await this.decideDue();
      await sleep(1000);
    }
  }

  /** One round (`final`: after the workload stopped): each lane approves (plan release) or refunds after expiry (plan refund) its escrows. */
  async decideDue(final = false): Promise<void> {
    if (this.#lanes.length === 0)
      this.#lanes = APPROVER_INDICES.map((i) =>
        createChainClients({ rpcUrl: this.t.rpcUrl, chainId: this.t.chainId, account: devAccount(i) }),
      );
    const open = this.journal.of("acked", "escrow").filter((e) => !this.decided.has(e.id));
    await Promise.all(
      this.#lanes.map(async ({ publicClient, walletClient }, lane) => {
        for (const [k, e] of open.entries()) {
          if ((this.#stopped && !final) || k % this.#lanes.length !== lane) continue;
          const escrowId = e.response?.escrowId as Hex;
          try {
            const onChain = await findEscrow(publicClient, this.t.escrow, escrowId);
            if (!onChain) continue;
            if (onChain.state === "Released" || onChain.state === "Refunded") {
              this.decided.add(e.id);
              continue;
            }
            const p = { publicClient, walletClient: walletClient!, escrow: this.t.escrow, escrowId };
            if (e.plan === "release" && onChain.approvalCount === 0)
              await decideEscrow({ ...p, decision: "approve", receiptTimeoutMs: 20_000 });
            else if (e.plan === "refund" && Math.floor(Date.now() / 1000) > onChain.expiresAt + 1)
              await decideEscrow({ ...p, decision: "refund", receiptTimeoutMs: 20_000 });
          } catch {
            // Chain down, paused or restarting: try again on the next round.
          }
        }
      }),
    );
  }

  /** The receipt the API gives now for a transfer, or undefined if it gives none (not anchored yet). */
  async receiptOf(transferId: string): Promise<unknown> {
    const res = await fetch(`${this.t.apiUrl}/v1/transfers/${transferId}/receipt`, {
      headers: { authorization: `Bearer ${this.t.keys.platform}` },
      signal: AbortSignal.timeout(10_000),
    });
    return res.status === 200 ? await res.json() : undefined;
  }

  /** Saves receipts of anchored acknowledged transfers, to verify them again at the end. */
  async #receiptSaver(max: number): Promise<void> {
    while (!this.#stopped) {
      await sleep(3000);
      if (!this.t.up() || this.receipts.length >= max) continue;
      try {
        const head = (await (await fetch(`${this.t.apiUrl}/v1/log/head`)).json()) as any;
        const anchored: number = head?.latestAnchor?.treeSize ?? 0;
        const candidates = this.journal
          .of("acked", "transfer")
          .filter((e) => e.response.sequence < anchored && !this.receipts.some((r) => r.transferId === e.id));
        for (let i = 0; i < 3 && candidates.length > 0; i++) {
          const e = candidates.splice(Math.floor(this.random() * candidates.length), 1)[0]!;
          const receipt = await this.receiptOf(e.id);
          if (receipt !== undefined)
            this.receipts.push({ transferId: e.id, savedAt: new Date().toISOString(), receipt });
        }
      } catch {
        // The stack is restarting; the next round saves more.
      }
    }
  }

  #loops: Promise<void>[] = [];
  start(opts: { workers: number; pauseMs: number; maxReceipts: number }): void {
    this.#stopped = false;
    for (let i = 0; i < opts.workers; i++) this.#loops.push(this.#worker(opts.pauseMs));
    this.#loops.push(this.#decider(), this.#receiptSaver(opts.maxReceipts));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops.splice(0));
  }

  /** Resends every unanswered request with its id and body until each is answered (or `rounds` pass). */
  async resendUnanswered(rounds = 60): Promise<number> {
    let left = this.journal.toResend();
    for (let i = 0; i < rounds && left.length > 0; i++) {
      if (i > 0) await sleep(1000);
      for (const e of left) if (this.t.up() && !e.inFlight && e.state === "unanswered") await this.submit(e);
      left = this.journal.toResend();
    }
    return left.length;
  }
}
