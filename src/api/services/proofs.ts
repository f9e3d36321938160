import type { Hex } from "viem";
import { InvariantError } from "../../errors";
import type { LeafProof, ReceiptAnchor } from "../../protocol/receipt-v1";
import { HeadDoesNotCoverEntryError, NotAnchoredYetError, NotFoundError, NotInLogYetError } from "../errors";
import type { AnchorRecord, AnchorMirror, LogReader, RelayerStatusSource } from "../ports";
import { AnchorCache } from "./anchor-cache";
import { ProofCache, type ProofCacheOptions } from "../../log/proof-cache";

/** Lower-case 0x-hex; Node's encoder is several times faster than a per-byte loop on the hot path. */
function bytesToHex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")}`;
}

/** The anchored head a proof leads to, in the receipt's shape (custody-receipt-v1 `anchor`). */
export type ReceiptAnchorJson = ReceiptAnchor;

/** A proof by leaf hash: a receipt without the entry. */
export type LeafProofJson = LeafProof;

export function receiptAnchorOf(a: AnchorRecord): ReceiptAnchorJson {
  return {
    chainId: a.chainId,
    contract: a.contract.toLowerCase() as Hex,
    headIndex: a.headIndex,
    treeSize: a.treeSize,
    rootHash: a.rootHash.toLowerCase() as Hex,
    txHash: a.txHash.toLowerCase() as Hex,
    blockNumber: Number(a.blockNumber),
    timestamp: Number(a.blockTimestamp),
  };
}

/**
 * Inclusion proofs against anchored heads. Before the first proof against a head is served, the
 * local tree's root at that size is compared with the anchored root: a local log that diverged
 * from the chain must never hand out proofs (they would not verify) — it fails loudly instead.
 */
export class ProofService {
  readonly anchors: AnchorCache;
  private readonly checkedHeads = new Set<number>();
  /** Upper tree levels in memory; undefined when disabled (or after it disagreed with the chain). */
  private cache?: ProofCache;
  private readonly cacheCheckedHeads = new Set<number>();

  constructor(
    private readonly log: LogReader,
    anchorMirror: AnchorMirror,
    private readonly relayer?: RelayerStatusSource,
    /** Number of committed ledger events (the log integrates them shortly after). */
    private readonly ledgerSize?: () => Promise<number>,
    /** Keep the upper tree levels in memory (a layer over the same reader); undefined = off. */
    cache?: { options?: ProofCacheOptions },
  ) {
    this.anchors = new AnchorCache(anchorMirror);
    if (cache) this.cache = new ProofCache(log, cache.options);
  }

  private readonly anchorJsonCache = new Map<number, ReceiptAnchorJson>();

  /** The receipt form of an anchor; confirmed anchors never change, so it is built once. */
  private anchorJson(a: AnchorRecord): ReceiptAnchorJson {
    let j = this.anchorJsonCache.get(a.headIndex);
    if (!j || j.rootHash !== a.rootHash.toLowerCase()) {
      j = receiptAnchorOf(a);
      if (this.anchorJsonCache.size > 10_000) this.anchorJsonCache.clear();
      this.anchorJsonCache.set(a.headIndex, j);
    }
    return j;
  }

  /** Leaves the proof cache covers (undefined when it is disabled). */
  cachedLeaves(): number | undefined {
    return this.cache?.coveredLeaves;
  }

  /** Extends the proof cache to the latest confirmed anchor (call at start-up; errors are ignored). */
  async warm(): Promise<void> {
    if (!this.cache) return;
    try {
      const latest = await this.anchors.source.latest();
      if (latest && latest.final !== false) await this.cache.extendTo(latest.treeSize);
    } catch {
      // Requests extend the cache themselves; a failed warm-up only costs speed.
    }
  }

  /**
   * The inclusion proof from the in-memory levels when they cover the head (checked once per head
   * against the anchored root), else from the log store while the cache catches up in the background.
   */
  private async inclusionProof(leafIndex: number, a: AnchorRecord): Promise<Uint8Array[]> {
    const cache = this.cache;
    if (cache && cache.covers(a.treeSize)) {
      if (!this.cacheCheckedHeads.has(a.headIndex)) {
        const root = bytesToHex(await cache.root(a.treeSize));
        if (root !== a.rootHash.toLowerCase()) {
          this.cache = undefined;
          throw new InvariantError(`proof cache diverges from anchored head ${a.headIndex}`, {
            details: `anchored root ${a.rootHash}, cached root ${root}; cache disabled`,
          });
        }
        this.cacheCheckedHeads.add(a.headIndex);
      }
      return cache.inclusionProof(leafIndex, a.treeSize);
    }
    if (cache)
      cache.extendTo(a.treeSize).catch(() => {
        // A failed extension (e.g. the source lags) is retried by the next request.
      });
    return this.log.inclusionProof(leafIndex, a.treeSize);
  }

  /** The head to prove leaf `leafIndex` against: the first covering it, or head `headIndex`. */
  async headFor(leafIndex: number, headIndex?: number): Promise<AnchorRecord> {
    if (headIndex !== undefined) {
      const a = await this.anchors.byHeadIndex(headIndex);
      if (!a || a.final === false)
        throw new NotFoundError(`anchored head ${headIndex} does not exist or is not confirmed yet`);
      if (a.treeSize <= leafIndex) throw new HeadDoesNotCoverEntryError(headIndex, a.treeSize, leafIndex);
      return a;
    }
    const a = await this.anchors.covering(leafIndex);
    if (a) return a;
    const latest = await this.anchors.source.latest();
    let lagEntries: number | undefined;
    let lagSeconds: number | undefined;
    if (this.relayer) {
      try {
        const s = await this.relayer.status();
        lagEntries = s.lagEntries;
        lagSeconds = s.lagSeconds;
      } catch {
        // The lag is a hint for the client; its absence must not turn a 409 into a 500.
      }
    }
    const logSize = await this.log.size();
    throw new NotAnchoredYetError({
      leafIndex,
      anchoredTreeSize: latest && latest.final !== false ? latest.treeSize : 0,
      lagEntries,
      lagSeconds,
      ...(leafIndex >= logSize ? { logSize } : {}),
    });
  }

  private async checkHead(a: AnchorRecord): Promise<void> {
    if (this.checkedHeads.has(a.headIndex)) return;
    const size = await this.log.size();
    if (size < a.treeSize)
      throw new NotInLogYetError(
        `the local log has ${size} leaves, fewer than anchored head ${a.headIndex}`,
        {
          details: `anchored tree size ${a.treeSize}`,
        },
      );
    const root = bytesToHex(await this.log.root(a.treeSize));
    if (root !== a.rootHash.toLowerCase())
      throw new InvariantError(`local log diverges from anchored head ${a.headIndex}`, {
        details: `anchored root ${a.rootHash}, local root ${root} at size ${a.treeSize}`,
      });
    this.checkedHeads.add(a.headIndex);
  }

  /** The inclusion proof of leaf `leafIndex` (whose hash is `leafHash`). */
  async leafProof(leafIndex: number, leafHash: Hex, headIndex?: number): Promise<LeafProofJson> {
    const a = await this.headFor(leafIndex, headIndex);
    await this.checkHead(a);
    const proof = await this.inclusionProof(leafIndex, a);
    return {
      leafIndex,
      leafHash: leafHash.toLowerCase() as Hex,
      anchor: this.anchorJson(a),
      inclusionProof: proof.map(bytesToHex),
    };
  }

  /** The proof for a leaf known only by its hash (public: reveals nothing but hashes). */
  async proofByLeafHash(leafHash: Hex, headIndex?: number): Promise<LeafProofJson> {
    const hash = Buffer.from(leafHash.slice(2), "hex");
    const index = this.cache?.findLeaf(hash) ?? (await this.log.findLeaf(hash));
    if (index === undefined) {
      // The entry may be committed but not integrated yet: say so rather than "not found".
      const [logSize, committed] = await Promise.all([this.log.size(), this.ledgerSize?.()]);
      if (committed !== undefined && committed > logSize)
        throw new NotInLogYetError("no integrated log entry has this leaf hash yet", {
          details: `the log holds ${logSize} of ${committed} committed entries`,
        });
      throw new NotFoundError("no log entry has this leaf hash");
    }
    return this.leafProof(index, leafHash, headIndex);
  }
}
