import type { Address, Hex } from "viem";
import { InvalidArgumentError } from "../errors";

/**
 * Escrow terms v1 (`custody-escrow-terms-v1`): the rules of an escrow, kept in its ledger hold's
 * metadata under {@link ESCROW_TERMS_KEY}. The API writes them (POST /v1/escrows); the relayer reads
 * them back to create the escrow on chain (CustodyEscrow.createEscrow). Payer, payee, asset and
 * amount are not part of them: they are the hold's own. Spec: docs/api.md ("Escrow terms").
 */
export const ESCROW_TERMS_FORMAT = "custody-escrow-terms-v1";

/** The hold metadata key the terms live under. */
export const ESCROW_TERMS_KEY = "escrowTerms";

/** CustodyEscrow.MAX_APPROVERS. */
export const MAX_ESCROW_APPROVERS = 16;

export interface EscrowTermsV1 {
  format: typeof ESCROW_TERMS_FORMAT;
  /** 1..16 distinct, non-zero addresses, lower-case. */
  approvers: Address[];
  /** Bit i set: approvers[i] acts for the payer (and may dispute). No bits beyond the approvers. */
  payerSideMask: number;
  /** 1..approvers.length approvals release the escrow. */
  threshold: number;
  /** Unix seconds; 0 = never, else before `expiresAt`. */
  autoReleaseAt: number;
  /** Unix seconds. */
  expiresAt: number;
  /** bytes32, lower-case. */
  agreementHash: Hex;
}

/** On-chain escrow terms (ICustodyEscrow.Terms), as `createEscrow` takes them. */
export interface EscrowTerms {
  payer: Hex;
  payee: Hex;
  asset: Hex;
  amount: bigint;
  approvers: Address[];
  payerSideMask: number;
  threshold: number;
  /** Seconds since the epoch; 0 = never. */
  autoReleaseAt: bigint;
  /** Seconds since the epoch. */
  expiresAt: bigint;
  agreementHash: Hex;
}

/** One reason terms are not valid v1 terms; `path` names the field. */
export interface EscrowTermsIssue {
  path: (keyof EscrowTermsV1)[];
  message: string;
}

/** Escrow terms are missing or are not valid `custody-escrow-terms-v1` terms. */
export class EscrowTermsInvalidError extends InvalidArgumentError {
  override name = "EscrowTermsInvalidError";
  readonly issues: EscrowTermsIssue[];
  constructor(issues: EscrowTermsIssue[], opts: { context?: string } = {}) {
    const first = issues[0];
    super(
      `${opts.context ? `${opts.context}: ` : ""}escrow terms${first?.path.length ? `.${first.path.join(".")}` : ""} ${first?.message ?? "are invalid"}`,
      { details: issues.map((i) => `${i.path.join(".") || "terms"}: ${i.message}`).join("; ") },
    );
    this.issues = issues;
  }
}

const FIELDS: readonly (keyof EscrowTermsV1)[] = [
  "format",
  "approvers",
  "payerSideMask",
  "threshold",
  "autoReleaseAt",
  "expiresAt",
  "agreementHash",
];
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

const isUint = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;

/**
 * Every reason `value` is not v1 terms (empty when it is), with the rules CustodyEscrow applies to
 * them at creation (but for `expiresAt` being in the future: that depends on when it is created).
 * The API validates request bodies with it, so the two cannot drift apart.
 */
export function escrowTermsIssues(value: unknown): EscrowTermsIssue[] {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return [{ path: [], message: "must be an object" }];
  const t = value as Record<string, unknown>;
  const issues: EscrowTermsIssue[] = [];
  const bad = (path: keyof EscrowTermsV1, message: string) => issues.push({ path: [path], message });
  for (const k of Object.keys(t))
    if (!FIELDS.includes(k as keyof EscrowTermsV1))
      issues.push({ path: [], message: `has unknown field ${k}` });
  if (t.format !== ESCROW_TERMS_FORMAT) bad("format", `must be "${ESCROW_TERMS_FORMAT}"`);

  const approvers = t.approvers;
  let n: number | undefined;
  if (!Array.isArray(approvers) || approvers.length < 1 || approvers.length > MAX_ESCROW_APPROVERS)
    bad("approvers", `must be an array of 1..${MAX_ESCROW_APPROVERS} addresses`);
  else if (!approvers.every((a) => typeof a === "string" && ADDRESS.test(a)))
    bad("approvers", "must hold 20-byte 0x-hex addresses");
  else {
    n = approvers.length;
    const lower = approvers.map((a: string) => a.toLowerCase());
    if (new Set(lower).size !== n) bad("approvers", "must be distinct");
    if (lower.some((a) => /^0x0{40}$/.test(a))) bad("approvers", "must not contain the zero address");
  }

  if (!isUint(t.payerSideMask, 0xffff)) bad("payerSideMask", "must be an integer in 0..65535");
  else if (n !== undefined && t.payerSideMask >> n !== 0)
    bad("payerSideMask", "has bits beyond the approvers");

  if (!isUint(t.threshold, MAX_ESCROW_APPROVERS) || t.threshold < 1)
    bad("threshold", `must be an integer in 1..${MAX_ESCROW_APPROVERS}`);
  else if (n !== undefined && t.threshold > n) bad("threshold", "must not exceed the number of approvers");

  if (!isUint(t.expiresAt)) bad("expiresAt", "must be a non-negative integer (Unix seconds)");
  if (!isUint(t.autoReleaseAt))
    bad("autoReleaseAt", "must be a non-negative integer (Unix seconds, 0 = never)");
  else if (isUint(t.expiresAt) && t.autoReleaseAt !== 0 && t.autoReleaseAt >= t.expiresAt)
    bad("autoReleaseAt", "must be before expiresAt");

  if (typeof t.agreementHash !== "string" || !BYTES32.test(t.agreementHash))
    bad("agreementHash", "must be 32 bytes of 0x-hex");
  return issues;
}

/**
 * Strictly parses v1 terms: every field present, nothing else, all rules met. Addresses and the
 * agreement hash come back lower-case. Throws {@link EscrowTermsInvalidError}.
 */
export function parseEscrowTerms(value: unknown, opts: { context?: string } = {}): EscrowTermsV1 {
  const issues = escrowTermsIssues(value);
  if (issues.length) throw new EscrowTermsInvalidError(issues, opts);
  const t = value as EscrowTermsV1;
  return {
    format: ESCROW_TERMS_FORMAT,
    approvers: t.approvers.map((a) => a.toLowerCase() as Address),
    payerSideMask: t.payerSideMask,
    threshold: t.threshold,
    autoReleaseAt: t.autoReleaseAt,
    expiresAt: t.expiresAt,
    agreementHash: t.agreementHash.toLowerCase() as Hex,
  };
}

/**
 * The terms in a hold's metadata: undefined when there are none; throws
 * {@link EscrowTermsInvalidError} when they are there but are not valid v1 terms.
 */
export function escrowTermsOf(
  metadata: Readonly<Record<string, unknown>> | null | undefined,
  opts: { context?: string } = {},
): EscrowTermsV1 | undefined {
  const t = metadata?.[ESCROW_TERMS_KEY];
  return t === undefined ? undefined : parseEscrowTerms(t, opts);
}

/**
 * The `createEscrow` argument for `terms` and the hold's parties (account pseudonyms), asset
 * (bytes32 code) and amount. Times are safe integers, so they fit uint64.
 */
export function toOnChainTerms(
  terms: EscrowTermsV1,
  hold: { payer: Hex; payee: Hex; asset: Hex; amount: bigint },
): EscrowTerms {
  return {
    payer: hold.payer,
    payee: hold.payee,
    asset: hold.asset,
    amount: hold.amount,
    approvers: [...terms.approvers],
    payerSideMask: terms.payerSideMask,
    threshold: terms.threshold,
    autoReleaseAt: BigInt(terms.autoReleaseAt),
    expiresAt: BigInt(terms.expiresAt),
    agreementHash: terms.agreementHash,
  };
}

/** One term on which an escrow on chain differs from the terms the ledger expects. */
export interface EscrowTermsDifference {
  term: keyof EscrowTerms;
  expected: string;
  found: string;
}

/**
 * Term-by-term comparison of the terms the ledger expects with those an existing escrow holds on
 * chain (addresses and hashes compared case-insensitively, approvers in order). Empty when equal.
 */
export function escrowTermsDifferences(expected: EscrowTerms, found: EscrowTerms): EscrowTermsDifference[] {
  const norm = (v: unknown): string =>
    Array.isArray(v) ? v.map((x) => String(x).toLowerCase()).join(",") : String(v).toLowerCase();
  const out: EscrowTermsDifference[] = [];
  for (const term of [
    "payer",
    "payee",
    "asset",
    "amount",
    "approvers",
    "payerSideMask",
    "threshold",
    "autoReleaseAt",
    "expiresAt",
    "agreementHash",
  ] as const) {
    const e = norm(expected[term]);
    const f = norm(found[term]);
    if (e !== f) out.push({ term, expected: e, found: f });
  }
  return out;
}
