import type { AnchorRecord, AnchorMirror } from "../ports";

/**
 * Anchors are immutable once confirmed, so the proof hot path keeps the ones it has seen and
 * answers `covering(i)` from memory: a cached anchor A answers for leaf i when A.treeSize > i and
 * either A is head 0 or head A-1 is cached too (then A-1.treeSize ≤ i, so A is the first that
 * covers i). Anything else goes to the source once and is cached.
 */
export class AnchorCache {
  private readonly byHead = new Map<number, AnchorRecord>();
  /** Sorted by treeSize (equivalently by headIndex: sizes strictly grow). */
  private sorted: AnchorRecord[] = [];

  constructor(
    readonly source: AnchorMirror,
    private readonly maxEntries = 100_000,
  ) {}

  private remember(a: AnchorRecord): void {
    if (this.byHead.has(a.headIndex)) return;
    if (this.byHead.size >= this.maxEntries) {
      this.byHead.clear();
      this.sorted = [];
    }
    this.byHead.set(a.headIndex, a);
    // Usually appended at the end (newer anchors); binary insertion otherwise.
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid].headIndex < a.headIndex) lo = mid + 1;
      else hi = mid;
    }
    this.sorted.splice(lo, 0, a);
  }

  /** The first confirmed anchor whose tree contains leaf `leafIndex`, or undefined if none yet. */
  async covering(leafIndex: number): Promise<AnchorRecord | undefined> {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid].treeSize <= leafIndex) lo = mid + 1;
      else hi = mid;
    }
    const hit = s[lo];
    if (hit && (hit.headIndex === 0 || this.byHead.has(hit.headIndex - 1))) return hit;
    const a = await this.source.covering(leafIndex);
    if (!a) return undefined;
    this.remember(a);
    if (a.headIndex > 0 && !this.byHead.has(a.headIndex - 1)) {
      // Fetch the predecessor once so the next leaf of this batch is a pure memory hit.
      const prev = await this.source.byHeadIndex(a.headIndex - 1);
      if (prev) this.remember(prev);
    }
    return a;
  }

  async byHeadIndex(headIndex: number): Promise<AnchorRecord | undefined> {
    const hit = this.byHead.get(headIndex);
    if (hit) return hit;
    const a = await this.source.byHeadIndex(headIndex);
    // A head not yet final may still be reorganised away: never cache it.
    if (a && a.final !== false) this.remember(a);
    return a;
  }
}
