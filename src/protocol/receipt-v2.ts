import * as z from "zod/mini";
import type { Hex } from "viem";
import { parseCheckpoint, type Checkpoint } from "./checkpoint";
import { CustodyError } from "../errors";
import { MAX_NOTE_SIGNATURES, parseNote } from "./note";
import {
  RECEIPT_FORMAT_V1,
  ReceiptFormatError,
  createReceipt,
  firstIssue,
  jsonOf,
  parseEntry,
  parseReceipt,
  receiptToJson,
  receiptV1Schema,
  type CreateReceiptParameters,
  type Receipt,
  type ReceiptJson,
} from "./receipt-v1";

/**
 * Receipt format v2 (normative spec: docs/receipt-v2.md): a v1 receipt that also carries the signed
 * checkpoint (C2SP signed note) of the anchored head its proof leads to, with the witnesses'
 * cosignatures. Under a trust policy a verifier checks the log's signature and the witness quorum.
 * Browser-safe. v1 receipts stay valid: `parseAnyReceipt` reads both.
 */
export const RECEIPT_FORMAT_V2 = "custody-receipt-v2";

/** A checkpoint note is three short lines and at most MAX_NOTE_SIGNATURES signature lines. */
export const MAX_CHECKPOINT_NOTE_LENGTH = 1024 + MAX_NOTE_SIGNATURES * 256;

export interface ReceiptV2Json extends Omit<ReceiptJson, "format"> {
  format: typeof RECEIPT_FORMAT_V2;
  /** The signed checkpoint of `anchor` (origin, treeSize, rootHash), log-signed, witness-cosigned. */
  checkpoint: string;
}

export interface ReceiptV2 extends Omit<Receipt, "format"> {
  format: typeof RECEIPT_FORMAT_V2;
  checkpoint: string;
}

/** A parsed receipt of any known version. */
export type AnyReceipt = Receipt | ReceiptV2;
export type AnyReceiptJson = ReceiptJson | ReceiptV2Json;

/** zod schema of the JSON form of a v2 receipt: v1's fields (strict), format v2, and `checkpoint`. */
export const receiptV2Schema = z.extend(receiptV1Schema, {
  format: z.literal(RECEIPT_FORMAT_V2),
  checkpoint: z.string().check(z.minLength(1), z.maxLength(MAX_CHECKPOINT_NOTE_LENGTH)),
});

/** Parses a v2 receipt strictly (form only; `checkpoint` must be a well-formed signed checkpoint). */
export function parseReceiptV2(input: unknown): ReceiptV2 {
  const parsed = receiptV2Schema.safeParse(jsonOf(input));
  if (!parsed.success) throw firstIssue(parsed.error, "v2");
  const r = parsed.data;
  checkpointOfNote(r.checkpoint);
  const receipt = { ...r, format: RECEIPT_FORMAT_V2, entry: parseEntry(r.entry) } as unknown as ReceiptV2;
  if (r.context === undefined) delete receipt.context;
  return receipt;
}

/** The checkpoint inside a signed note, or ReceiptFormatError("checkpoint") (no signature is checked). */
export function checkpointOfNote(note: string): Checkpoint {
  try {
    return parseCheckpoint(parseNote(note).text);
  } catch (cause) {
    if (cause instanceof CustodyError)
      throw new ReceiptFormatError("checkpoint", cause.shortMessage, { cause, details: cause.details });
    throw cause;
  }
}

/**
 * Parses a receipt of any known version by its `format`: v1 or v2. Throws ReceiptFormatError for an
 * unknown format or a malformed receipt.
 *
 * @example
 * const receipt = parseAnyReceipt(await file.text());
 * if (receipt.format === RECEIPT_FORMAT_V2) console.log(receipt.checkpoint);
 */
export function parseAnyReceipt(input: unknown): AnyReceipt {
  const value = jsonOf(input);
  const format = (value as { format?: unknown } | null)?.format;
  if (format === RECEIPT_FORMAT_V2) return parseReceiptV2(value);
  if (format === RECEIPT_FORMAT_V1 || typeof format !== "string") return parseReceipt(value);
  throw new ReceiptFormatError("format", `unsupported receipt format ${JSON.stringify(format)}`, {
    details: `this verifier reads ${RECEIPT_FORMAT_V1} and ${RECEIPT_FORMAT_V2}`,
  });
}

/** The JSON form of a parsed receipt of any version (inverse of `parseAnyReceipt`). */
export function anyReceiptToJson(receipt: AnyReceipt): AnyReceiptJson {
  if (receipt.format === RECEIPT_FORMAT_V2) {
    const { format: _f, checkpoint, ...rest } = receipt;
    return {
      ...receiptToJson({ ...rest, format: RECEIPT_FORMAT_V1 }),
      format: RECEIPT_FORMAT_V2,
      checkpoint,
    };
  }
  return receiptToJson(receipt);
}

/**
 * Assembles a v2 receipt: a v1 receipt of the same entry and proof plus the signed checkpoint of
 * `anchor`. Throws ReceiptFormatError if the checkpoint is not of `anchor` (size and root).
 */
export function createReceiptV2(params: CreateReceiptParameters & { checkpoint: string }): ReceiptV2Json {
  const { checkpoint, ...v1 } = params;
  const json: ReceiptV2Json = { ...createReceipt(v1), format: RECEIPT_FORMAT_V2, checkpoint };
  const cp = checkpointOfNote(checkpoint);
  if (cp.size !== json.anchor.treeSize || cp.rootHash !== (json.anchor.rootHash.toLowerCase() as Hex))
    throw new ReceiptFormatError("checkpoint", "is not the checkpoint of the receipt's anchored head", {
      details: `checkpoint size ${cp.size} root ${cp.rootHash}; anchor size ${json.anchor.treeSize} root ${json.anchor.rootHash}`,
    });
  parseReceiptV2(json);
  return json;
}
