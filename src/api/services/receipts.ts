import { InvariantError } from "../../errors";
import type { LedgerEvent, SubjectKind } from "../../ledger/types";
import { leafEntryToJson } from "../../protocol/leaf-v1";
import { toHex as bytesToHex } from "../../log/hex";
import { nodeHasher } from "../../log/node-hasher";
import { RECEIPT_FORMAT_V1, type ReceiptJson } from "../../protocol/receipt-v1";
import { RECEIPT_FORMAT_V2, type AnyReceiptJson } from "../../protocol/receipt-v2";
import { NotAnchoredYetError, NotFoundError } from "../errors";
import type { LedgerPort } from "../ports";
import type { CheckpointService } from "./checkpoints";
import type { ProofService } from "./proofs";

/**
 * Receipts for ledger events: the entry with its salt, proof and anchored head. With checkpoints
 * configured they are custody-receipt-v2 and also carry the head's signed checkpoint with the
 * witness cosignatures collected so far (docs/receipt-v2.md); else custody-receipt-v1.
 */
export class ReceiptService {
  constructor(
    private readonly ledger: LedgerPort,
    private readonly proofs: ProofService,
    private readonly checkpoints?: CheckpointService,
  ) {}

  async event(leafIndex: number): Promise<LedgerEvent> {
    const [ev] = await this.ledger.getEvents(leafIndex, 1);
    if (!ev || ev.sequence !== leafIndex) throw new NotFoundError(`no log entry ${leafIndex}`);
    return ev;
  }

  async eventsOf(kind: SubjectKind, id: string): Promise<LedgerEvent[]> {
    return this.ledger.getEventsForSubject(kind, id);
  }

  /** The receipt of one event against the head anchored right after it (or head `headIndex`). */
  async receipt(ev: LedgerEvent, headIndex?: number): Promise<AnyReceiptJson> {
    const leafHash = bytesToHex(ev.leafHash);
    // The ledger decoded the entry from these exact bytes (canonically); their hash must be the
    // stored leaf hash, else the receipt could not verify.
    if (bytesToHex(nodeHasher.hashLeaf(ev.leafBytes)) !== leafHash)
      throw new InvariantError(`stored leaf hash of entry ${ev.sequence} does not match its leaf bytes`);
    const proof = await this.proofs.leafProof(ev.sequence, leafHash, headIndex);
    // Assembled here, not with verify's createReceipt: that re-encodes the leaf and re-parses the
    // receipt (~20 µs, ~8 % of a receipt request), re-checking what the leaf-bytes check above and
    // the proof service's root check already establish. The API tests verify every receipt served.
    const v1: ReceiptJson = {
      format: RECEIPT_FORMAT_V1,
      entry: leafEntryToJson(ev.entry),
      leafIndex: ev.sequence,
      leafHash,
      anchor: proof.anchor,
      inclusionProof: proof.inclusionProof,
      issuedAt: new Date().toISOString(),
      context: { subject: ev.subject.kind, id: ev.subject.id, accounts: ev.accounts },
    };
    if (!this.checkpoints) return v1;
    const { note } = await this.checkpoints.cosignedCheckpoint(proof.anchor);
    return { ...v1, format: RECEIPT_FORMAT_V2, checkpoint: note };
  }

  /**
   * Receipts for all events of a subject; events not yet anchored are listed by leaf index instead.
   */
  async receiptsOf(
    events: readonly LedgerEvent[],
  ): Promise<{ receipts: AnyReceiptJson[]; notAnchored: number[] }> {
    const receipts: AnyReceiptJson[] = [];
    const notAnchored: number[] = [];
    for (const ev of events) {
      try {
        receipts.push(await this.receipt(ev));
      } catch (e) {
        if (!(e instanceof NotAnchoredYetError)) throw e;
        notAnchored.push(ev.sequence);
      }
    }
    return { receipts, notAnchored };
  }
}
