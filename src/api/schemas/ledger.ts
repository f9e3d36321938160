import type { Address, Hex } from "viem";
import { z } from "zod";
import { ESCROW_TERMS_FORMAT, escrowTermsIssues, type EscrowTermsV1 } from "../../protocol/escrow-terms-v1";
import type { Account, Balance, Hold, Metadata, Transfer } from "../../ledger/types";
import { AmountString, AssetCode, ExternalId, Hex32, Hex32Out, PositiveAmountString } from "./common";

/** Request and response schemas of the ledger routes, and the JSON form of ledger objects. */

// Bodies come from JSON.parse, so every value is already JSON; only the shape and size are checked.
export const MetadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 4096, "must be at most 4096 bytes of JSON")
  .transform((m) => m as Metadata)
  .meta({ description: "free-form JSON object, at most 4096 bytes", example: { note: "invoice 17" } });

export const ACCOUNT_TYPE_VALUES = [
  "customer",
  "platform_own",
  "fee_revenue",
  "escrow",
  "bank_mirror",
  "settlement",
] as const;
export const TRANSFER_KIND_VALUES = [
  "deposit",
  "withdrawal",
  "transfer",
  "fee",
  "escrow_hold",
  "escrow_release",
  "escrow_refund",
  "adjustment",
] as const;

export const OpenAccountBody = z
  .strictObject({
    id: ExternalId,
    type: z.enum(ACCOUNT_TYPE_VALUES),
    asset: AssetCode,
    scale: z.number().int().min(0).max(36),
    limits: z
      .strictObject({ maxTransferAmount: AmountString.optional(), maxBalance: AmountString.optional() })
      .optional(),
    metadata: MetadataSchema.optional(),
  })
  .meta({ id: "OpenAccountRequest" });

export const AccountStatusBody = z
  .strictObject({ status: z.enum(["active", "frozen", "closed"]) })
  .meta({ id: "AccountStatusRequest" });

export const TransferBody = z
  .strictObject({
    id: ExternalId.meta({ description: "client-chosen id; the idempotency key" }),
    debitAccountId: ExternalId,
    creditAccountId: ExternalId,
    amount: PositiveAmountString,
    kind: z.enum(["deposit", "withdrawal", "transfer", "fee", "adjustment"]),
    metadata: MetadataSchema.optional(),
    fee: z.strictObject({ code: z.string().min(1).max(64), base: AmountString.optional() }).optional(),
  })
  .meta({ id: "TransferRequest" });

export const AddressIn = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x-hex address")
  .transform((s) => s.toLowerCase() as `0x${string}`);

const UnixSeconds = z
  .number()
  .int()
  .min(0)
  .max(2 ** 53 - 1)
  .meta({ description: "Unix seconds" });

export const OpenEscrowBody = z
  .strictObject({
    id: ExternalId.meta({ description: "client-chosen id of the escrow hold; the idempotency key" }),
    escrowId: Hex32.optional().meta({ description: "on-chain escrow id; default: the hold's pseudonym" }),
    payer: ExternalId.meta({ description: "customer account debited" }),
    payee: ExternalId.meta({ description: "customer account paid on release" }),
    escrowAccount: ExternalId.optional().meta({
      description: "escrow account holding the money; default: the server's escrow account for the asset",
    }),
    asset: AssetCode,
    amount: PositiveAmountString,
    approvers: z.array(AddressIn).min(1).max(16),
    payerSideMask: z.number().int().min(0).max(0xffff).optional(),
    threshold: z.number().int().min(1).max(16),
    autoReleaseAt: UnixSeconds.optional(),
    expiresAt: UnixSeconds,
    agreementHash: Hex32,
    metadata: MetadataSchema.optional(),
  })
  .superRefine((b, ctx) => {
    // The terms' rules are the stored format's own (src/protocol/escrow-terms-v1.ts).
    for (const issue of escrowTermsIssues(escrowTermsOfBody(b)))
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    if (b.payer === b.payee)
      ctx.addIssue({ code: "custom", path: ["payee"], message: "must differ from the payer" });
  })
  .meta({ id: "OpenEscrowRequest" });

/** The `custody-escrow-terms-v1` terms of an open-escrow request (optional fields defaulted). */
export function escrowTermsOfBody(b: {
  approvers: Address[];
  payerSideMask?: number;
  threshold: number;
  autoReleaseAt?: number;
  expiresAt: number;
  agreementHash: Hex;
}): EscrowTermsV1 {
  return {
    format: ESCROW_TERMS_FORMAT,
    approvers: b.approvers,
    payerSideMask: b.payerSideMask ?? 0,
    threshold: b.threshold,
    autoReleaseAt: b.autoReleaseAt ?? 0,
    expiresAt: b.expiresAt,
    agreementHash: b.agreementHash,
  };
}

// ---- responses ----

export const BalanceSchema = z
  .object({
    accountId: z.string(),
    asset: z.string(),
    posted: z.string(),
    pending: z.string(),
    available: z.string(),
  })
  .meta({ id: "Balance", description: "minor units as decimal strings; available = posted − pending" });

export const AccountSchema = z
  .object({
    id: z.string(),
    pseudonym: Hex32Out,
    type: z.string(),
    asset: z.string(),
    scale: z.number().int(),
    status: z.string(),
    limits: z
      .object({ maxTransferAmount: z.string().optional(), maxBalance: z.string().optional() })
      .optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    createdAt: z.number().int(),
    sequence: z.number().int(),
  })
  .meta({ id: "Account" });

/** What a transfer and a hold both are: an amount moved (or held) from one account to another. */
const Movement = z.object({
  id: z.string(),
  pseudonym: Hex32Out,
  debitAccountId: z.string(),
  creditAccountId: z.string(),
  asset: z.string(),
  amount: z.string(),
  kind: z.string(),
});

export const TransferSchema = Movement.extend({
  metadata: z.record(z.string(), z.unknown()).optional(),
  fee: z.object({ code: z.string(), base: z.string().optional() }).optional(),
  holdId: z.string().optional(),
  sequence: z.number().int(),
  createdAt: z.number().int(),
}).meta({ id: "Transfer" });

export const HoldSchema = Movement.extend({
  status: z.enum(["pending", "posted", "voided"]),
  escrowId: Hex32Out.optional(),
  payeeAccountId: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.number().int(),
  sequence: z.number().int(),
  resolvedAt: z.number().int().optional(),
  resolvedSequence: z.number().int().optional(),
  resolution: z.record(z.string(), z.unknown()).optional(),
  releaseTransferId: z.string().optional(),
}).meta({ id: "Hold" });

export function accountJson(a: Account) {
  return {
    id: a.id,
    pseudonym: a.pseudonym,
    type: a.type,
    asset: a.asset,
    scale: a.scale,
    status: a.status,
    limits: a.limits
      ? {
          maxTransferAmount: a.limits.maxTransferAmount?.toString(),
          maxBalance: a.limits.maxBalance?.toString(),
        }
      : undefined,
    metadata: a.metadata,
    createdAt: a.createdAt,
    sequence: a.sequence,
  };
}

export function balanceJson(accountId: string, asset: string, b: Balance) {
  return {
    accountId,
    asset,
    posted: b.posted.toString(),
    pending: b.pending.toString(),
    available: b.available.toString(),
  };
}

export function transferJson(t: Transfer) {
  return {
    id: t.id,
    pseudonym: t.pseudonym,
    debitAccountId: t.debitAccountId,
    creditAccountId: t.creditAccountId,
    asset: t.asset,
    amount: t.amount.toString(),
    kind: t.kind,
    metadata: t.metadata,
    fee: t.fee ? { code: t.fee.code, base: t.fee.base?.toString() } : undefined,
    holdId: t.holdId,
    sequence: t.sequence,
    createdAt: t.createdAt,
  };
}

export function holdJson(h: Hold) {
  return {
    id: h.id,
    pseudonym: h.pseudonym,
    debitAccountId: h.debitAccountId,
    creditAccountId: h.creditAccountId,
    asset: h.asset,
    amount: h.amount.toString(),
    kind: h.kind,
    status: h.status,
    escrowId: h.escrowId,
    payeeAccountId: h.payeeAccountId,
    metadata: h.metadata,
    createdAt: h.createdAt,
    sequence: h.sequence,
    resolvedAt: h.resolvedAt,
    resolvedSequence: h.resolvedSequence,
    resolution: h.resolution as Record<string, unknown> | undefined,
    releaseTransferId: h.releaseTransferId,
  };
}
