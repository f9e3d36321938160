import { createHash } from "node:crypto";
import { Registry } from "prom-client";
import {
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
  zeroAddress,
} from "viem";
import { describeError } from "../chain/revert";
import { missingRoles, type RequiredRole, RoleMissingError } from "../chain/actions/read-missing-roles";
import type { Database } from "../db/database";
import { anchorHeadCallData } from "../chain/actions/anchor-head";
import { readAnchorCosigner } from "../chain/actions/read-anchor-cosigner";
import { readAnchorRecord } from "../chain/actions/read-anchor-record";
import { type AnchorCosignerOptions, requestAnchorCosignature } from "./anchor-cosigner";
import { readHeadCount } from "../chain/actions/read-head-count";
import { readLatestHead } from "../chain/actions/read-latest-head";
import { type AnchorRecord, type AnchorStore, openAnchorStore } from "./anchor-store";
import { auditAgainstHeads } from "./audit";
import { RelayerCosignatureError, RelayerLogMismatchError, RelayerNotLeaderError } from "./errors";
import type { FaultHook } from "./faults";
import { type LeaderLease, createLeaderLease } from "../db/lease";
import { createLogger, type Logger } from "../logging";
import { type RelayerMetrics, createRelayerMetrics } from "./metrics";
import { type AnchorPolicy, backoffDelay, isFinal, nextAnchorSize } from "./policy";
import { TxSender } from "./tx-sender";
import type { AnchorSource, RelayerAlarm } from "./types";

/** The part of a deployment the relayer needs (see src/chain/deployment.ts). */
export interface RelayerDeployment {
  chainId: number;
  custodyAnchor: Address;
  custodyEscrow?: Address;
  deploymentBlock?: number | bigint;
}

/** A step run after anchoring in each `runOnce` (the escrow bridge), with the relayer's sender. */
export interface RelayerTask {
  readonly name: string;
  run(ctx: { sender: TxSender; tip: number; metrics: RelayerMetrics }): Promise<void>;
  /** An alarm the task raised and still holds (reported by `status()`; anchoring continues). */
  alarm?(): RelayerAlarm | undefined;
}

export interface RelayerOptions {
  db: Database;
  source: AnchorSource;
  publicClient: PublicClient;
  /** Local signer (key from an env var or keystore: src/chain/keys.ts); holds ANCHORER_ROLE. */
  account: LocalAccount;
  deployment: RelayerDeployment;
  policy?: Partial<AnchorPolicy>;
  /** Blocks an anchor must be deep before it is final (0 on a dev chain). Default 0. */
  confirmations?: number;
  lease?: LeaderLease;
  /** TTL of the default SQLite lease row (default 10 s); a standby takes over this long after a crash. */
  leaseTtlMs?: number;
  /** Renew the lease this often while a step runs (default 1 s). */
  heartbeatMs?: number;
  /** prom-client registry the metrics are registered into (a private one if absent). */
  registry?: Registry;
  log?: Logger;
  faults?: FaultHook;
  /** Loop period (default 250 ms). */
  pollIntervalMs?: number;
  /** Full audit of the ledger against all anchored heads this often (default 10 min; also at start). */
  auditIntervalMs?: number;
  /** Replace a transaction unmined for this long (default 20 s). */
  stuckAfterMs?: number;
  tasks?: RelayerTask[];
  /**
   * Roles the signer must hold, checked on every step by leader and standby alike (default:
   * ANCHORER_ROLE on the anchor contract). Without them the relayer sends nothing and is not ready.
   */
  requiredRoles?: RequiredRole[];
  /**
   * Opt-in: the custodian's witness that cosigns each head before it is anchored, for a contract
   * deployed with a cosigner (CustodyAnchor `anchorCosigned`, docs/contracts-v1.md). Required when the
   * contract has a cosigner; refused when it has none.
   */
  anchorCosigner?: AnchorCosignerOptions;
  /** Most leaves appended to the tree per sync call (default max(maxBatch ?? batchSize, 10 000)). */
  syncMaxLeaves?: number;
  now?: () => number;
}

export interface RelayerStatus {
  /** Address of the signing key (never the key). */
  account: Address;
  leader: boolean;
  /** Ledger entries not covered by the chain's latest final head (measured, not remembered). */
  lagEntries: number;
  /** Age of the oldest such entry (0 when none). */
  lagSeconds: number;
  treeSize: number;
  lastAnchor?: AnchorRecord;
  alarm?: RelayerAlarm;
  /** The last step's error, with any contract revert decoded (`EnforcedPause(): …`). */
  lastError?: string;
  /** Steps failed in a row (0 after a step that succeeded). */
  failuresInARow: number;
  /** Roles the signer lacks, as of the last check (`ANCHORER_ROLE on CustodyAnchor 0x…`). */
  missingRoles?: string[];
}

export interface RunOnceResult {
  leader: boolean;
  /** The head anchored by this step, if any. */
  anchored?: AnchorRecord;
  alarm?: RelayerAlarm;
}

const DEFAULT_POLICY: AnchorPolicy = { batchSize: 1000, maxDelayMs: 1000 };

/**
 * Metadata committed with each head: SHA-256 of the canonical JSON
 * `{"format":"custody-anchor-metadata-v1","treeSize":n,"lastEntryAt":ms}` (docs/relayer.md).
 */
export function anchorMetadataHash(treeSize: number, lastEntryAt: number): Hex {
  const json = JSON.stringify({ format: "custody-anchor-metadata-v1", treeSize, lastEntryAt });
  return `0x${createHash("sha256").update(json).digest("hex")}`;
}

/**
 * The relayer: keeps the Merkle tree in step with the ledger, anchors heads on chain, mirrors the
 * chain's heads into the database, and runs the escrow bridge. The chain is the source of truth:
 * each step starts by reading the contract's heads and reconciling the records with them.
 *
 * @example
 * const relayer = createRelayer({ db, source, publicClient, account, deployment, registry });
 * relayer.start();
 * // …
 * await relayer.stop();
 */
export class Relayer {
  readonly anchors: AnchorStore;
  readonly metrics: RelayerMetrics;
  readonly registry: Registry;
  readonly sender: TxSender;
  private readonly o: RelayerOptions;
  private readonly log: Logger;
  private readonly lease: LeaderLease;
  private readonly policy: AnchorPolicy;
  private readonly contract: Address;
  private readonly now: () => number;
  private alarm?: RelayerAlarm;
  private leader = false;
  private needAudit = true;
  private lastAuditAt = 0;
  private lastError?: string;
  private treeSize = 0;
  private lagEntries = 0;
  private lagSeconds = 0;
  private lastFinal?: AnchorRecord;
  private missing?: string[];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private failuresInARow = 0;
  private readonly requiredRoles: RequiredRole[];
  private readonly syncMaxLeaves: number;
  /** The contract's cosigner (immutable on chain), once read. */
  private contractCosigner?: Address;

  constructor(o: RelayerOptions) {
    this.o = o;
    this.log = o.log ?? createLogger({ component: "relayer", destination: 2 });
    this.lease = o.lease ?? createLeaderLease(o.db, { ttlMs: o.leaseTtlMs });
    this.policy = { ...DEFAULT_POLICY, ...o.policy };
    this.contract = o.deployment.custodyAnchor.toLowerCase() as Address;
    this.now = o.now ?? Date.now;
    this.registry = o.registry ?? new Registry();
    this.metrics = createRelayerMetrics(this.registry);
    this.anchors = openAnchorStore(o.db);
    this.requiredRoles = o.requiredRoles ?? [
      { contract: "CustodyAnchor", address: o.deployment.custodyAnchor, role: "ANCHORER_ROLE" },
    ];
    this.syncMaxLeaves = o.syncMaxLeaves ?? Math.max(this.policy.maxBatch ?? this.policy.batchSize, 10_000);
    this.sender = new TxSender({
      db: o.db,
      publicClient: o.publicClient,
      account: o.account,
      chainId: o.deployment.chainId,
      log: this.log,
      faults: o.faults,
      stuckAfterMs: o.stuckAfterMs,
      onMined: (kind, r) => this.countGas(kind, r),
    });
  }

  private countGas(kind: string, r: TransactionReceipt) {
    this.metrics.gasUsed.inc({ kind }, Number(r.gasUsed));
    this.metrics.gasCostWei.inc({ kind }, Number(r.gasUsed * (r.effectiveGasPrice ?? 0n)));
  }

  /** Starts the loop: one `runOnce` per poll interval; errors back off exponentially. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      let delay = this.o.pollIntervalMs ?? 250;
      try {
        await this.runOnce();
      } catch {
        delay = Math.max(delay, backoffDelay(this.failuresInARow, { baseMs: 200, capMs: 10_000 }));
      }
      if (!this.stopped) this.timer = setTimeout(() => void (this.running = tick()), delay);
    };
    this.running = tick();
  }

  /** Stops the loop, waits for the current step, and releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
    await this.lease.release();
    this.leader = false;
    this.metrics.leader.set(0);
  }

  status(): RelayerStatus {
    return {
      account: this.o.account.address,
      leader: this.leader,
      lagEntries: this.lagEntries,
      lagSeconds: this.lagSeconds,
      treeSize: this.treeSize,
      lastAnchor: this.lastFinal,
      alarm: this.alarm ?? this.taskAlarm(),
      lastError: this.lastError,
      failuresInARow: this.failuresInARow,
      missingRoles: this.missing,
    };
  }

  private taskAlarm(): RelayerAlarm | undefined {
    for (const t of this.o.tasks ?? []) {
      const a = t.alarm?.();
      if (a) return a;
    }
    return undefined;
  }

  /**
   * One step: take or renew the lease; finish any transaction left in flight; reconcile the
   * records with the chain (and audit the ledger against every anchored head when due); anchor a
   * new head if the policy says so; run the tasks (escrow bridge). Throws on failure, after which the
   * next step re-reads everything from the chain.
   */
  async runOnce(): Promise<RunOnceResult> {
    try {
      const r = await this.step();
      this.failuresInARow = 0;
      this.lastError = undefined;
      return r;
    } catch (e) {
      this.failuresInARow++;
      this.needAudit = true;
      this.lastError = describeError(e);
      const step = (e as { step?: string }).step ?? "run";
      this.metrics.failures.inc({ step });
      this.log.error(
        {
          error: this.lastError,
          code: (e as { code?: string }).code,
        },
        "relayer step failed",
      );
      throw e;
    } finally {
      // Failing or not, leader or standby: the lag is measured from the ledger and the chain.
      await this.refreshLag().catch((e) => this.log.warn({ error: describeError(e) }, "lag not measured"));
    }
  }

  private async step(): Promise<RunOnceResult> {
    // Leader or standby: a key without its roles can never anchor, so it is not ready, and it
    // must not hold the lease that a standby with a good key could use.
    const missing = await missingRoles(this.o.publicClient, this.o.account.address, this.requiredRoles);
    this.missing = missing.length ? missing.map((m) => `${m.role} on ${m.contract} ${m.address}`) : undefined;
    if (missing.length) {
      if (this.leader || this.lease.isHeld()) await this.lease.release();
      this.leader = false;
      this.metrics.leader.set(0);
      throw new RoleMissingError(this.o.account.address, missing);
    }
    this.leader = await this.lease.tryAcquire();
    this.metrics.leader.set(this.leader ? 1 : 0);
    if (!this.leader) return { leader: false };
    const heartbeat = setInterval(() => void this.lease.tryAcquire(), this.o.heartbeatMs ?? 1000);
    try {
      await this.finishInFlight();
      const tip = Number(await this.o.publicClient.getBlockNumber({ cacheTime: 0 }));
      await this.reconcile(tip);
      let anchored: AnchorRecord | undefined;
      if (!this.alarm) anchored = await this.anchorStep();
      for (const t of this.o.tasks ?? []) {
        if (!this.lease.isHeld()) throw new RelayerNotLeaderError();
        await t.run({ sender: this.sender, tip, metrics: this.metrics });
      }
      return { leader: true, anchored, alarm: this.alarm };
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Waits for transactions a previous run (or a crashed process) left in flight. */
  private async finishInFlight() {
    const seen = new Set<number>();
    for (const p of await this.sender.inFlight()) {
      if (seen.has(p.nonce)) continue;
      seen.add(p.nonce);
      this.log.info(
        {
          kind: p.kind,
          nonce: p.nonce,
          txHash: p.txHash,
        },
        "waiting for transaction left in flight",
      );
      try {
        await this.sender.waitMined(p);
      } catch (e) {
        // A reverted anchor (e.g. another head landed first) is resolved by reconciling.
        this.log.warn({ kind: p.kind, nonce: p.nonce, error: String(e) }, "in-flight transaction failed");
      }
    }
  }

  /** Mirrors the chain's heads into the database: drops reorganised ones, adds new ones, marks finality. */
  private async reconcile(tip: number): Promise<void> {
    const pc = this.o.publicClient;
    const count = await readHeadCount(pc, this.contract);
    const recent = await this.anchors.list({ limit: 1000 });
    const other = recent.find((r) => r.contract !== this.contract || r.chainId !== this.o.deployment.chainId);
    if (other) {
      this.raise({
        kind: "deployment-mismatch",
        message: `the database holds anchors of ${other.contract} on chain ${other.chainId}, not of ${this.contract} on chain ${this.o.deployment.chainId}`,
      });
      return;
    }
    // Reorg check on records not yet final (newest first), and on any record the chain no longer has.
    let dropFrom: number | undefined;
    for (const r of recent) {
      if (r.headIndex >= count) dropFrom = r.headIndex;
      else if (!r.final) {
        const b = await pc.getBlock({ blockNumber: BigInt(r.blockNumber) }).catch(() => undefined);
        if (!b || b.hash?.toLowerCase() !== r.blockHash) dropFrom = r.headIndex;
      }
    }
    if (dropFrom !== undefined) {
      const n = await this.anchors.dropFrom(dropFrom);
      this.log.warn(
        {
          fromHeadIndex: dropFrom,
          dropped: n,
        },
        "anchors reorganised away; will anchor again",
      );
    }
    const latest = await this.anchors.latest();
    const added: AnchorRecord[] = [];
    for (let i = latest ? latest.headIndex + 1 : 0; i < count; i++) {
      added.push(
        await readAnchorRecord(pc, {
          contract: this.contract,
          chainId: this.o.deployment.chainId,
          headIndex: i,
        }),
      );
    }
    await this.anchors.upsert(added);
    const finals = [...added, ...(await this.anchors.list({ limit: 1000 }))].filter(
      (r) => !r.final && isFinal(r.blockNumber, tip, this.o.confirmations ?? 0),
    );
    if (finals.length) await this.anchors.markFinal(Math.max(...finals.map((r) => r.headIndex)));

    // Check the local log against the chain's heads: new ones cheaply, all of them on audit.
    this.treeSize = await this.syncTree((await this.anchors.latest())?.treeSize ?? 0);
    const auditDue = this.needAudit || this.now() - this.lastAuditAt >= (this.o.auditIntervalMs ?? 600_000);
    if (auditDue) {
      const heads = await this.allHeads();
      const alarm = await auditAgainstHeads(this.o.source, heads, this.treeSize);
      this.needAudit = false;
      this.lastAuditAt = this.now();
      if (alarm) return this.raise(alarm);
      this.log.info({ heads: heads.length, treeSize: this.treeSize }, "audit passed");
    } else {
      for (const r of added) {
        if (r.treeSize > this.treeSize) {
          return this.raise({
            kind: "log-behind-chain",
            firstBadSize: this.treeSize + 1,
            message: `the chain anchored tree size ${r.treeSize} but the local log has ${this.treeSize} entries`,
          });
        }
        const local = (await this.o.source.root(r.treeSize)).toLowerCase();
        if (local !== r.rootHash) {
          // Let the full audit name the first differing size.
          this.needAudit = true;
          return this.reconcile(tip);
        }
      }
    }
  }

  /**
   * Syncs the tree in bounded calls: up to `minSize` (the chain's latest head, which the audit
   * needs), then one more bounded call. A ledger that keeps growing never holds a step up.
   */
  private async syncTree(minSize: number): Promise<number> {
    let size = await this.o.source.sync(this.syncMaxLeaves);
    while (size < minSize) {
      const next = await this.o.source.sync(this.syncMaxLeaves);
      if (next === size) break;
      size = next;
    }
    return size;
  }

  private async allHeads(): Promise<AnchorRecord[]> {
    const out: AnchorRecord[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await this.anchors.list({ limit: 1000, beforeHeadIndex: before });
      out.push(...page);
      if (page.length < 1000) break;
      before = page[page.length - 1]!.headIndex;
    }
    return out.reverse();
  }

  private raise(alarm: RelayerAlarm) {
    if (!this.alarm || this.alarm.kind !== alarm.kind || this.alarm.firstBadSize !== alarm.firstBadSize) {
      this.log.error(
        {
          alarm: alarm.kind,
          firstBadSize: alarm.firstBadSize,
        },
        "ANCHORING STOPPED: " + alarm.message,
      );
    }
    this.alarm = alarm;
    this.metrics.alarm.set({ kind: alarm.kind }, 1);
  }

  /** The current alarm as an error, for callers that prefer to throw. */
  alarmError(): RelayerLogMismatchError | undefined {
    return this.alarm?.firstBadSize !== undefined
      ? new RelayerLogMismatchError(this.alarm.firstBadSize, { details: this.alarm.message })
      : undefined;
  }

  private async anchorStep(): Promise<AnchorRecord | undefined> {
    const last = await this.anchors.latest();
    const anchoredSize = last?.treeSize ?? 0;
    const target = nextAnchorSize({
      policy: this.policy,
      logSize: this.treeSize,
      anchoredSize,
      oldestUnanchoredAt: await this.o.source.entryTimestamp(anchoredSize),
      now: this.now(),
    });
    if (target === undefined) return undefined;
    const root = await this.o.source.root(target);
    const proof = anchoredSize === 0 ? [] : await this.o.source.consistencyProof(anchoredSize, target);
    const lastEntryAt = (await this.o.source.entryTimestamp(target - 1)) ?? 0;
    const metadataHash = anchorMetadataHash(target, lastEntryAt);
    this.contractCosigner ??= await readAnchorCosigner(this.o.publicClient, this.contract);
    const cosigner = this.contractCosigner;
    let cosignature: Hex | undefined;
    if (cosigner !== zeroAddress) {
      if (!this.o.anchorCosigner)
        throw new RelayerCosignatureError(
          "the anchor contract needs the cosigner's signature on every head, and no anchor cosigner is configured",
          { details: `contract ${this.contract} cosigner ${cosigner}; set --anchor-cosigner` },
        );
      cosignature = await requestAnchorCosignature(this.o.anchorCosigner, {
        chainId: this.o.deployment.chainId,
        contract: this.contract,
        cosigner,
        headIndex: last ? last.headIndex + 1 : 0,
        previousSize: anchoredSize,
        treeSize: target,
        rootHash: root,
        proof,
        metadataHash,
      });
    } else if (this.o.anchorCosigner) {
      throw new RelayerCosignatureError("an anchor cosigner is configured but the anchor contract has none", {
        details: `contract ${this.contract} was deployed without a cosigner: drop --anchor-cosigner`,
      });
    }
    const data = anchorHeadCallData({
      treeSize: target,
      rootHash: root,
      consistencyProof: proof,
      metadataHash,
      cosignature,
    });
    // Fencing: never send on a lease that may have lapsed.
    if (!(await this.lease.tryAcquire())) throw new RelayerNotLeaderError();
    const p = await this.sender.send(
      "anchor",
      { to: this.contract, data, meta: { treeSize: target, fromSize: anchoredSize } },
      { beforeSend: "anchor:beforeSend", afterSend: "anchor:afterSend" },
    );
    const { receipt } = await this.sender.waitMined(p);
    if (this.o.faults) await this.o.faults("anchor:afterReceipt");
    await this.reconcile(Number(receipt.blockNumber));
    const rec = (await this.anchors.latest())!;
    this.metrics.anchors.inc();
    this.log.info(
      {
        headIndex: rec.headIndex,
        treeSize: rec.treeSize,
        rootHash: rec.rootHash,
        txHash: rec.txHash,
        blockNumber: rec.blockNumber,
        gasUsed: receipt.gasUsed,
      },
      "head anchored",
    );
    return rec;
  }

  /**
   * The chain's latest final head size: read from the contract (a standby or a failing leader
   * has no fresher records); the records are used only when the chain cannot be read.
   */
  private async anchoredOnChain(fin: AnchorRecord | undefined): Promise<number> {
    try {
      const pc = this.o.publicClient;
      const head = await readLatestHead(pc, this.contract);
      if (!head) return 0;
      const tip = Number(await pc.getBlockNumber({ cacheTime: 0 }));
      if (isFinal(head.blockNumber, tip, this.o.confirmations ?? 0)) return head.treeSize;
    } catch {
      // chain unreachable: fall back to what was last recorded
    }
    return fin?.treeSize ?? 0;
  }

  private async refreshLag() {
    const fin = await this.anchors.latestFinal();
    this.lastFinal = fin;
    const anchored = await this.anchoredOnChain(fin);
    const logSize = this.o.source.logSize ? await this.o.source.logSize() : this.treeSize;
    if (!this.leader) this.treeSize = Math.max(this.treeSize, anchored);
    this.lagEntries = Math.max(0, logSize - anchored);
    const oldest = this.lagEntries > 0 ? await this.o.source.entryTimestamp(anchored) : undefined;
    this.lagSeconds = oldest === undefined ? 0 : Math.max(0, (this.now() - oldest) / 1000);
    this.metrics.lagEntries.set(this.lagEntries);
    this.metrics.lagSeconds.set(this.lagSeconds);
    if (fin) {
      this.metrics.lastAnchoredTreeSize.set(fin.treeSize);
      this.metrics.lastAnchoredHeadIndex.set(fin.headIndex);
    }
  }
}

export function createRelayer(o: RelayerOptions): Relayer {
  return new Relayer(o);
}
