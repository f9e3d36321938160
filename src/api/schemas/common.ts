import { z } from "zod";

/**
 * Schemas shared by several routes. Request schemas are strict (unknown fields are errors) and
 * turn wire forms into domain values (decimal strings → bigint, hex → lower-case); response
 * schemas document what the server sends.
 */

export const Hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-hex")
  .transform((s) => s.toLowerCase() as `0x${string}`)
  .meta({ description: "32 bytes, 0x-prefixed hex", example: `0x${"ab".repeat(32)}` });

export const Hex32Out = z.string().regex(/^0x[0-9a-f]{64}$/);
export const AddressOut = z.string().regex(/^0x[0-9a-f]{40}$/);

/** Non-negative safe integer given as a decimal string (path and query parameters). */
export const IndexString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a non-negative decimal integer")
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), "must be a safe integer")
  .meta({ description: "non-negative integer", example: "42" });

/** Money: minor units as a decimal string (never a JSON number, which would lose precision). */
export const AmountString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,38})$/, "must be a decimal string of a non-negative integer")
  .transform((s) => BigInt(s))
  .refine((v) => v < 1n << 128n, "must be below 2^128")
  .meta({ description: "minor units, decimal string", example: "12500" });

export const PositiveAmountString = AmountString.refine((v) => v > 0n, "must be greater than zero");

/** External (platform-side) identifier of an account, transfer, hold or escrow. */
export const ExternalId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, "must be 1..128 characters of [A-Za-z0-9._:@-]")
  .meta({ example: "acct-42" });

export const AssetCode = z
  .string()
  .regex(/^[\x21-\x7e]{1,32}$/, "must be 1..32 printable ASCII characters")
  .meta({ example: "EUR" });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: "stable, machine-readable", example: "INVALID_REQUEST" }),
      message: z.string(),
      details: z.string().optional(),
      issues: z
        .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
        .optional(),
      transferId: z.string().optional().meta({ description: "a segregation refusal: the refused transfer" }),
      batchIndex: z
        .number()
        .int()
        .optional()
        .meta({ description: "a segregation refusal: its position in the submitted batch" }),
    }),
  })
  .meta({ id: "Error" });

export const AnchorSchema = z
  .object({
    chainId: z.number().int(),
    contract: AddressOut,
    headIndex: z.number().int(),
    treeSize: z.number().int(),
    rootHash: Hex32Out,
    txHash: Hex32Out,
    blockNumber: z.number().int(),
    timestamp: z.number().int().meta({ description: "Unix seconds of the anchoring block" }),
  })
  .meta({ id: "Anchor" });

export const LeafProofSchema = z
  .object({
    leafIndex: z.number().int(),
    leafHash: Hex32Out,
    anchor: AnchorSchema,
    inclusionProof: z.array(Hex32Out),
  })
  .meta({ id: "LeafProof" });

export const LeafEntrySchema = z
  .object({
    version: z.number().int(),
    eventType: z.string(),
    sequence: z.number().int(),
    timestamp: z.number().int(),
    salt: Hex32Out,
    entryId: Hex32Out,
    debitAccount: Hex32Out,
    creditAccount: Hex32Out,
    asset: z.string(),
    amount: z.string(),
    code: z.number().int(),
    reference: Hex32Out,
    metadataHash: Hex32Out,
  })
  .meta({ id: "LeafEntry" });

export const ReceiptSchema = z
  .object({
    format: z.enum(["custody-receipt-v1", "custody-receipt-v2"]),
    entry: LeafEntrySchema,
    leafIndex: z.number().int(),
    leafHash: Hex32Out,
    anchor: AnchorSchema,
    inclusionProof: z.array(Hex32Out),
    issuedAt: z.string(),
    context: z.record(z.string(), z.unknown()).optional(),
    checkpoint: z.string().optional().meta({
      description: "v2 only: the anchored head's signed checkpoint with witness cosignatures",
    }),
  })
  .meta({
    id: "Receipt",
    description:
      "custody-receipt-v2 when the log signs checkpoints, else custody-receipt-v1 (docs/receipt-v2.md, docs/receipt-v1.md)",
  });

export const HeadSchema = z
  .object({ treeSize: z.number().int(), rootHash: Hex32Out })
  .meta({ id: "LogHead" });

export const AnchoredHeadSchema = z
  .object({
    headIndex: z.number().int(),
    treeSize: z.number().int(),
    rootHash: Hex32Out,
    metadataHash: Hex32Out,
    txHash: Hex32Out,
    blockNumber: z.number().int(),
    blockTimestamp: z.number().int(),
    chainId: z.number().int(),
    contract: AddressOut,
  })
  .meta({ id: "AnchoredHead" });

export const EmptyQuery = z.strictObject({});
