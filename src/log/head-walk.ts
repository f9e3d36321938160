import { toHex } from "./hex";
import { MerkleFrontier } from "./frontier";

/** Any anchored head: what the walk needs is its tree size and root. */
export interface SizedRoot {
  readonly treeSize: number;
  readonly rootHash: string;
}

/**
 * The rebuilt tree's roots, asked for at increasing sizes. `short` says the rebuilt tree ends
 * before `size` and how many leaves it has.
 */
export interface RootsBySize {
  rootAt(size: number): Promise<Uint8Array | { short: number }>;
}

/** Why a walk stopped: the first head that fails (later heads then fail too). */
export type HeadWalkStop<H> =
  | { readonly reason: "order"; readonly head: H; readonly prevSize: number }
  | { readonly reason: "behind"; readonly head: H; readonly available: number }
  | { readonly reason: "root"; readonly head: H; readonly prevSize: number; readonly recomputed: string }
  | { readonly reason: "consistency"; readonly head: H; readonly prev: H; readonly error: Error };

export interface HeadWalk<H> {
  /** Heads whose root was recomputed and matched. */
  verified: number;
  /** Consecutive pairs `checkConsistency` accepted. */
  consistent: number;
  /** Size covered by the last verified head (0 if none). */
  verifiedSize: number;
  stop?: HeadWalkStop<H>;
}

/**
 * The one walk of anchored heads against a rebuilt tree (the relayer's audit and the custody audit
 * both use it): sizes strictly increase, the rebuilt root at each head's size equals the anchored
 * root, and, if `checkConsistency` is given, it accepts each consecutive pair (it throws if not).
 * Stops at the first head that fails. Requires `heads` in head-index order.
 */
export async function walkHeads<H extends SizedRoot>(
  roots: RootsBySize,
  heads: readonly H[],
  checkConsistency?: (prev: H, head: H) => void,
): Promise<HeadWalk<H>> {
  const out: HeadWalk<H> = { verified: 0, consistent: 0, verifiedSize: 0 };
  let prev: H | undefined;
  for (const head of heads) {
    const prevSize = prev?.treeSize ?? 0;
    if (head.treeSize <= prevSize) return { ...out, stop: { reason: "order", head, prevSize } };
    const root = await roots.rootAt(head.treeSize);
    if (!(root instanceof Uint8Array))
      return { ...out, stop: { reason: "behind", head, available: root.short } };
    const recomputed: string = toHex(root);
    if (recomputed !== head.rootHash.toLowerCase())
      return { ...out, stop: { reason: "root", head, prevSize, recomputed } };
    if (prev && checkConsistency) {
      try {
        checkConsistency(prev, head);
      } catch (err) {
        return { ...out, stop: { reason: "consistency", head, prev, error: err as Error } };
      }
      out.consistent++;
    }
    out.verified++;
    out.verifiedSize = head.treeSize;
    prev = head;
  }
  return out;
}

/**
 * Roots of a stream of leaf hashes read in pages up to `end`, in one pass with O(log n) memory.
 * A page shorter than asked ends the stream: every later size is `short`.
 */
export function streamedRoots(
  read: (from: number, n: number) => Promise<readonly Uint8Array[]>,
  end: number,
  page = 10_000,
): RootsBySize {
  const f = new MerkleFrontier();
  let buffered: readonly Uint8Array[] = [];
  let used = 0;
  let ended = false;
  return {
    async rootAt(size) {
      while (f.size < size) {
        if (used === buffered.length) {
          const from = f.size;
          const n = Math.min(page, end - from);
          buffered = !ended && n > 0 ? await read(from, n) : [];
          used = 0;
          if (n <= 0 || buffered.length !== n) {
            ended = true;
            return { short: from + buffered.length };
          }
        }
        f.push(buffered[used++]!);
      }
      return f.root();
    },
  };
}
