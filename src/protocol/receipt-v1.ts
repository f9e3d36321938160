// zod/mini keeps the browser bundle small (the classic API is not tree-shakeable).
import * as z from "zod/mini";
import { en } from "zod/locales";
import { bytesToHex, isAddress, type Address, type Hex } from "viem";
import { CustodyError } from "../errors";
import {
  EVENT_TYPES,
  LEAF_VERSION,
  LeafEncodingError,
  leafEntryFromJson,
  leafEntryToJson,
  leafHashOf,
  type EventTypeName,
  type LeafEntry,
  type LeafEntryJson,
} from "./leaf-v1";

/**
 * Receipt format v1 (normative spec: docs/receipt-v1.md). A receipt is self-contained: the entry
 * with its salt, the RFC 9162 inclusion proof of its leaf and the anchored head the proof leads to.
 * Browser-safe: the receipt checker page runs exactly this code.
 */
export const RECEIPT_FORMAT_V1 = "custody-receipt-v1";

/** Upper bound on proof length: a tree of 2^64 leaves needs at most 64 hashes. */
export const MAX_INCLUSION_PROOF_LENGTH = 64;

/** The anchored head a receipt's proof leads to, and where it was anchored. */
export interface ReceiptAnchor {
  chainId: number;
  /** The CustodyAnchor contract, lower-case. */
  contract: Address;
  headIndex: number;
  treeSize: number;
  rootHash: Hex;
  txHash: Hex;
  blockNumber: number;
  /** Unix seconds of the anchoring block. */
  timestamp: number;
}

/** A receipt as it travels (JSON): the entry's amount is a decimal string. */
export interface ReceiptJson {
  format: typeof RECEIPT_FORMAT_V1;
  entry: LeafEntryJson;
  leafIndex: number;
  leafHash: Hex;
  anchor: ReceiptAnchor;
  inclusionProof: Hex[];
  /** ISO 8601. */
  issuedAt: string;
  /** Plaintext shown to the holder (transfer id, account id, …); not covered by any check. */
  context?: Record<string, unknown>;
}

/** A parsed receipt: the entry's amount is a bigint. */
export interface Receipt extends Omit<ReceiptJson, "entry"> {
  entry: LeafEntry;
}

/** What the API serves by leaf hash: a receipt without the entry (GET /v1/proofs/by-leaf-hash/:leafHash). */
export interface LeafProof {
  leafIndex: number;
  leafHash: Hex;
  anchor: ReceiptAnchor;
  inclusionProof: Hex[];
}

/** A receipt (or a leaf proof) is not well-formed. `field` is the dotted path of the first bad field. */
export class ReceiptFormatError extends CustodyError {
  override name = "ReceiptFormatError";
  readonly field: string;
  constructor(field: string, message: string, opts: { details?: string; cause?: unknown } = {}) {
    super(
      "RECEIPT_FORMAT_INVALID",
      field ? `receipt field ${field}: ${message}` : `receipt: ${message}`,
      opts,
    );
    this.field = field;
  }
}

z.config(en());

const UINT128_MAX = (1n << 128n) - 1n;

const hash32 = z.string().check(z.regex(/^0x[0-9a-f]{64}$/, "must be 32 bytes of lower-case 0x-hex"));
const uint = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const address = z.pipe(
  z.string().check(
    z.regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x-hex address"),
    z.refine((a) => !/^0x[0-9a-fA-F]{40}$/.test(a) || isAddress(a), "has an invalid EIP-55 checksum"),
  ),
  z.transform((a) => a.toLowerCase() as Address),
);

const entrySchema = z
  .strictObject({
    version: z.literal(LEAF_VERSION),
    eventType: z.enum(Object.keys(EVENT_TYPES) as [EventTypeName, ...EventTypeName[]]),
    sequence: uint,
    timestamp: uint,
    salt: hash32,
    entryId: hash32,
    debitAccount: hash32,
    creditAccount: hash32,
    // Empty only for a fact that names no asset (leaf-v1); the refinement below enforces that.
    asset: z.string().check(z.regex(/^[\x21-\x7e]{0,32}$/, "must be 1..32 printable ASCII characters")),
    amount: z.string().check(
      z.regex(/^(0|[1-9][0-9]*)$/, "must be the decimal string of a non-negative integer"),
      z.refine((s) => !/^[0-9]+$/.test(s) || BigInt(s) <= UINT128_MAX, "must be below 2^128"),
    ),
    code: z.int().check(z.minimum(0), z.maximum(255)),
    reference: hash32,
    metadataHash: hash32,
  })
  .check(
    z.refine((e) => e.asset !== "" || e.eventType === "FACT_RECORDED", {
      message: "must be 1..32 printable ASCII characters (only a fact may name no asset)",
      path: ["asset"],
    }),
  );

const anchorSchema = z.strictObject({
  chainId: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  contract: address,
  headIndex: uint,
  treeSize: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  rootHash: hash32,
  txHash: hash32,
  blockNumber: uint,
  timestamp: uint,
});

const proofSchema = z.array(hash32).check(z.maxLength(MAX_INCLUSION_PROOF_LENGTH));

/** zod schema of the JSON form of a v1 receipt (strict: unknown fields are errors). */
export const receiptV1Schema = z.strictObject({
  format: z.literal(RECEIPT_FORMAT_V1),
  entry: entrySchema,
  leafIndex: uint,
  leafHash: hash32,
  anchor: anchorSchema,
  inclusionProof: proofSchema,
  issuedAt: z.iso.datetime({ offset: true }),
  context: z.optional(z.record(z.string(), z.unknown())),
});

/** zod schema of a leaf proof as served by the API; extra fields are ignored. */
export const leafProofSchema = z.object({
  leafIndex: uint,
  leafHash: hash32,
  anchor: anchorSchema,
  inclusionProof: proofSchema,
});

/** The first zod issue as a ReceiptFormatError naming the field (shared with receipt-v2). */
export function firstIssue(error: z.core.$ZodError, version = "v1"): ReceiptFormatError {
  const issue = error.issues[0];
  let path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const key = (issue as { keys: string[] }).keys[0];
    path = path ? `${path}.${key}` : key;
    return new ReceiptFormatError(path, `is not a field of a ${version} receipt`);
  }
  return new ReceiptFormatError(path, issue.message.replace(/^Invalid input: /, ""));
}

/** JSON text → value; anything else as is. Throws ReceiptFormatError for bad JSON text. */
export function jsonOf(input: unknown): unknown {
  if (typeof input !== "string") return input;
  try {
    return JSON.parse(input);
  } catch (cause) {
    throw new ReceiptFormatError("", "is not valid JSON", { cause });
  }
}

/**
 * Parses a v1 receipt from its JSON form (an object or the JSON text) strictly. Throws
 * ReceiptFormatError naming the first bad field. It checks only the form: whether the receipt is
 * true is what `verifyReceiptOffline` / `verifyReceipt` decide.
 *
 * @example
 * const receipt = parseReceipt(await file.text());
 */
export function parseReceipt(input: unknown): Receipt {
  const value = jsonOf(input);
  const parsed = receiptV1Schema.safeParse(value);
  if (!parsed.success) {
    const format = (value as { format?: unknown } | null)?.format;
    if (typeof format === "string" && format !== RECEIPT_FORMAT_V1)
      throw new ReceiptFormatError("format", `unsupported receipt format ${JSON.stringify(format)}`, {
        details: `this verifier reads ${RECEIPT_FORMAT_V1}`,
      });
    throw firstIssue(parsed.error);
  }
  const r = parsed.data;
  const entry = parseEntry(r.entry);
  // The schema's regexes guarantee the 0x-hex shapes that the types state.
  const receipt = { ...r, format: RECEIPT_FORMAT_V1, entry } as unknown as Receipt;
  if (r.context === undefined) delete receipt.context;
  return receipt;
}

/** The leaf entry of a schema-checked receipt; throws ReceiptFormatError("entry") if it does not encode. */
export function parseEntry(json: z.output<typeof entrySchema>): LeafEntry {
  try {
    // The schema's regexes guarantee the 0x-hex shapes that LeafEntryJson states.
    return leafEntryFromJson(json as LeafEntryJson);
  } catch (cause) {
    if (cause instanceof LeafEncodingError)
      throw new ReceiptFormatError("entry", cause.shortMessage, { cause });
    throw cause;
  }
}

/** Parses a leaf proof as served by GET /v1/proofs/by-leaf-hash/:leafHash. Throws ReceiptFormatError. */
export function parseLeafProof(input: unknown): LeafProof {
  const parsed = leafProofSchema.safeParse(jsonOf(input));
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data as unknown as LeafProof;
}

/** The JSON form of a parsed receipt (inverse of `parseReceipt`). */
export function receiptToJson(receipt: Receipt): ReceiptJson {
  const json: ReceiptJson = { ...receipt, entry: leafEntryToJson(receipt.entry) };
  if (json.context === undefined) delete json.context;
  return json;
}

export interface CreateReceiptParameters {
  entry: LeafEntry;
  anchor: ReceiptAnchor;
  /** RFC 9162 inclusion proof of `entry.sequence` in the tree of `anchor.treeSize` leaves. */
  inclusionProof: readonly Hex[];
  issuedAt?: Date;
  context?: Record<string, unknown>;
}

/**
 * Assembles a v1 receipt in its JSON form (leafIndex and leafHash derived from the entry) and checks
 * its form. It does not check the proof: issuers should run `verifyReceiptOffline` before handing it out.
 *
 * @example
 * const json = createReceipt({ entry, anchor, inclusionProof, context: { transferId } });
 */
export function createReceipt(params: CreateReceiptParameters): ReceiptJson {
  const json: ReceiptJson = {
    format: RECEIPT_FORMAT_V1,
    entry: leafEntryToJson(params.entry),
    leafIndex: params.entry.sequence,
    leafHash: bytesToHex(leafHashOf(params.entry)),
    anchor: { ...params.anchor, contract: params.anchor.contract.toLowerCase() as Address },
    inclusionProof: params.inclusionProof.map((h) => h.toLowerCase() as Hex),
    issuedAt: (params.issuedAt ?? new Date()).toISOString(),
  };
  if (params.context !== undefined) json.context = params.context;
  parseReceipt(json);
  return json;
}
