import type { Hex } from "viem";
import { InvariantError } from "../../errors";
import type { LedgerEvent, SubjectKind } from "../../ledger/types";
import { createReceipt, type ReceiptJson } from "../../verify/receipt";
import { NotAnchoredYetError, NotFoundError } from "../errors";
import type { LedgerPort } from "../ports";
import type { ProofService } from "./proofs";

/** Receipts (custody-receipt-v1) for ledger events: the entry with its salt, proof and anchored head. */
export class ReceiptService {
  constructor(
    private readonly ledger: LedgerPort,
    private readonly proofs: ProofService,
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
  async receipt(ev: LedgerEvent, headIndex?: number): Promise<ReceiptJson> {
    const leafHash = `0x${Buffer.from(ev.leafHash).toString("hex")}` as Hex;
    const proof = await this.proofs.leafProof(ev.sequence, leafHash, headIndex);
    const receipt = createReceipt({
      entry: ev.entry,
      anchor: proof.anchor,
      inclusionProof: proof.inclusionProof,
      context: { subject: ev.subject.kind, id: ev.subject.id, accounts: ev.accounts },
    });
    // The leaf the ledger stored must be the leaf the entry encodes; else the receipt could not verify.
    if (receipt.leafHash !== leafHash)
      throw new InvariantError(`stored leaf hash of entry ${ev.sequence} does not match its entry`, {
        details: `stored ${leafHash}, encoded ${receipt.leafHash}`,
      });
    return receipt;
  }

  /**
   * Receipts for all events of a subject; events not yet anchored are listed by leaf index instead.
   */
  async receiptsOf(
    events: readonly LedgerEvent[],
  ): Promise<{ receipts: ReceiptJson[]; notAnchored: number[] }> {
    const receipts: ReceiptJson[] = [];
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
