import type { Address, Hex } from "viem";

/**
 * The on-chain terms of an escrow, kept in its ledger hold's metadata under `escrowTerms` so the
 * relayer can create the escrow on chain (CustodyEscrow.createEscrow). Payer, payee, asset and amount
 * are the hold's own (debit account pseudonym, payee account pseudonym, asset, amount).
 * Spec: docs/api.md ("Escrow terms").
 */
export const ESCROW_TERMS_FORMAT = "custody-escrow-terms-v1";
export const ESCROW_TERMS_KEY = "escrowTerms";

export interface EscrowTermsV1 {
  format: typeof ESCROW_TERMS_FORMAT;
  /** Lower-case addresses, 1..16, distinct, non-zero. */
  approvers: Address[];
  /** Bit i set: approvers[i] acts for the payer (and may dispute). */
  payerSideMask: number;
  threshold: number;
  /** Unix seconds; 0 = never. */
  autoReleaseAt: number;
  /** Unix seconds. */
  expiresAt: number;
  agreementHash: Hex;
}

/** Reads the terms back from a hold's metadata; undefined when absent or malformed. */
export function escrowTermsOf(metadata: Record<string, unknown> | undefined): EscrowTermsV1 | undefined {
  const t = metadata?.[ESCROW_TERMS_KEY] as Partial<EscrowTermsV1> | undefined;
  if (!t || typeof t !== "object" || t.format !== ESCROW_TERMS_FORMAT) return undefined;
  return t as EscrowTermsV1;
}
