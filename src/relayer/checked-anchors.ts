import type { Address, PublicClient } from "viem";
import { readAnchorRecord } from "../chain/actions/read-anchor-record";
import type { AnchorRecord, AnchorStore } from "./anchor-store";

/** The reads of the mirror that the proof service serves from. */
export type AnchorReads = Pick<AnchorStore, "latest" | "list" | "covering" | "byHeadIndex">;

export interface ChainCheckedAnchorsOptions {
  publicClient: PublicClient;
  contract: Address;
  chainId: number;
  /** Called when the chain could not be read (the head is then not served). */
  onError?: (err: unknown) => void;
}

/**
 * The mirror as the proof service must read it: a head is served only once this process has read
 * the same head (index, tree size, root, transaction, block hash) from the chain itself. The mirror
 * alone can name a head the chain no longer holds: after the chain lost blocks (a local node killed
 * and restarted from its last state dump), until the leader relayer reconciles the mirror, which
 * may take a lease period after a restart. A receipt naming such a head would never verify.
 *
 * Each head is read from the chain once per process (two calls). Heads only grow on chain and a
 * chain loses a suffix of them, so a head the chain holds vouches for the older mirrored heads
 * listed with it. A head the chain does not hold, or that cannot be read now, is left out: the
 * entries it covers read as not anchored yet.
 */
export class ChainCheckedAnchors implements AnchorReads {
  /** Head index → transaction hash of the mirrored record the chain was seen to hold. */
  readonly #onChain = new Map<number, string>();
  readonly #pending = new Map<string, Promise<boolean>>();

  constructor(
    readonly mirror: AnchorReads,
    private readonly o: ChainCheckedAnchorsOptions,
  ) {}

  async latest(): Promise<AnchorRecord | undefined> {
    const r = await this.mirror.latest();
    if (!r || (await this.#held(r))) return r;
    return (await this.list({ limit: 16 }))[0];
  }

  async list(opts?: { limit?: number; beforeHeadIndex?: number }): Promise<AnchorRecord[]> {
    const rows = await this.mirror.list(opts); // newest first
    for (let i = 0; i < rows.length; i++) {
      if (!(await this.#held(rows[i]))) continue;
      for (const r of rows.slice(i + 1)) this.#onChain.set(r.headIndex, r.txHash);
      return rows.slice(i);
    }
    return [];
  }

  async covering(leafIndex: number): Promise<AnchorRecord | undefined> {
    const r = await this.mirror.covering(leafIndex);
    return r && (await this.#held(r)) ? r : undefined;
  }

  async byHeadIndex(headIndex: number): Promise<AnchorRecord | undefined> {
    const r = await this.mirror.byHeadIndex(headIndex);
    return r && (await this.#held(r)) ? r : undefined;
  }

  /** Whether the chain holds exactly this record (read once per record, concurrent asks shared). */
  #held(r: AnchorRecord): Promise<boolean> {
    if (this.#onChain.get(r.headIndex) === r.txHash) return Promise.resolve(true);
    const key = `${r.headIndex}:${r.txHash}`;
    let p = this.#pending.get(key);
    if (!p) {
      p = this.#read(r).finally(() => this.#pending.delete(key));
      this.#pending.set(key, p);
    }
    return p;
  }

  async #read(r: AnchorRecord): Promise<boolean> {
    try {
      const c = await readAnchorRecord(this.o.publicClient, {
        contract: this.o.contract,
        chainId: this.o.chainId,
        headIndex: r.headIndex,
      });
      const same =
        c.txHash === r.txHash.toLowerCase() &&
        c.blockHash === r.blockHash.toLowerCase() &&
        c.rootHash === r.rootHash.toLowerCase() &&
        c.treeSize === r.treeSize;
      if (same) this.#onChain.set(r.headIndex, r.txHash);
      return same;
    } catch (e) {
      // A head index the contract does not have reverts; an unreachable node throws.
      this.o.onError?.(e);
      return false;
    }
  }
}
