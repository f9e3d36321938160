import { InvariantError } from "../../errors";
import { NotInLogYetError } from "../errors";
import { toHex } from "../../log/hex";
import { formatCheckpoint } from "../../protocol/checkpoint";
import { type NoteSigner, signNote } from "../../protocol/note";
import type { AnchorRecord, AnchorMirror, LogReader } from "../ports";

/** Witness cosignature lines stored for a checkpoint (the relayer's cosignature store satisfies it). */
export interface CosignatureSource {
  /** Note signature lines ("— name base64\n") collected for this size and root, in any order. */
  lines(treeSize: number, rootHash: `0x${string}`): Promise<string[]>;
}

/** What a checkpoint is made of: an anchored head's index, size and root. */
export type CheckpointHead = Pick<AnchorRecord, "headIndex" | "treeSize" | "rootHash">;

/** The log's checkpoint identity: origin line and Ed25519 signer (docs/checkpoints.md). */
export interface CheckpointSettings {
  origin: string;
  signer: NoteSigner;
  cosignatures?: CosignatureSource;
}

/**
 * Signed checkpoints of anchored heads. Ed25519 is deterministic, so a head's checkpoint is the
 * same bytes whenever it is signed; only witness cosignatures are stored. A head is signed only
 * after the local tree's root at its size is found equal to the anchored root.
 */
export class CheckpointService {
  private readonly checked = new Set<number>();
  private readonly notes = new Map<string, string>();

  constructor(
    private readonly settings: CheckpointSettings,
    private readonly anchors: AnchorMirror,
    private readonly log: LogReader,
  ) {}

  get origin(): string {
    return this.settings.origin;
  }

  /** The newest confirmed anchored head, or undefined before the first anchor. */
  async latestHead(): Promise<AnchorRecord | undefined> {
    const latest = await this.anchors.latest();
    if (latest && latest.final === false) {
      const list = await this.anchors.list({ limit: 20 });
      return list.find((a) => a.final !== false);
    }
    return latest;
  }

  private async check(a: CheckpointHead): Promise<void> {
    if (this.checked.has(a.treeSize)) return;
    // Read-only: the log integrator appends; until it has caught up the head cannot be checked.
    const size = await this.log.size();
    if (size < a.treeSize)
      throw new NotInLogYetError(
        `the log has ${size} entries; anchored head ${a.headIndex} needs ${a.treeSize}`,
      );
    const root = toHex(await this.log.root(a.treeSize));
    if (root !== a.rootHash.toLowerCase())
      throw new InvariantError(`local log diverges from anchored head ${a.headIndex}; no checkpoint signed`, {
        details: `anchored root ${a.rootHash}, local root ${root}`,
      });
    this.checked.add(a.treeSize);
  }

  /** The log-signed checkpoint of head `a` (no cosignatures). */
  async signedCheckpoint(a: CheckpointHead | undefined): Promise<{ size: number; note: string }> {
    const size = a?.treeSize ?? 0;
    const rootHash = a ? (a.rootHash.toLowerCase() as `0x${string}`) : toHex(await this.log.root(0));
    if (a) await this.check(a);
    // Receipts v2 carry this note: sign each head once (Ed25519 is deterministic, so nothing changes).
    const key = `${size} ${rootHash}`;
    let note = this.notes.get(key);
    if (note === undefined) {
      note = signNote(formatCheckpoint({ origin: this.settings.origin, size, rootHash }), [
        this.settings.signer,
      ]);
      if (this.notes.size >= 1024) this.notes.clear();
      this.notes.set(key, note);
    }
    return { size, note };
  }

  /** The checkpoint of head `a` with every stored witness cosignature appended. */
  async cosignedCheckpoint(a: CheckpointHead | undefined): Promise<{ size: number; note: string }> {
    const { size, note } = await this.signedCheckpoint(a);
    if (!a || !this.settings.cosignatures) return { size, note };
    const lines = await this.settings.cosignatures.lines(size, a.rootHash.toLowerCase() as `0x${string}`);
    return { size, note: note + [...new Set(lines)].join("") };
  }
}
