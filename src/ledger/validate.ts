import { type Hex, isHex } from "viem";
import { canonicalJson } from "./canonical";
import { InvalidAmountError, InvalidLedgerInputError } from "./errors";
import type { NewFact } from "./engine";
import { FACT_KINDS, type FactKind, assetToBytes32 } from "../protocol/leaf-v1";
import {
  ACCOUNT_STATUSES,
  ACCOUNT_TYPES,
  type AccountLimits,
  type AccountStatus,
  type AccountType,
  type AmountInput,
  type Fee,
  type FeeInput,
  type JsonValue,
  type Metadata,
  TRANSFER_KINDS,
  type TransferKind,
} from "./types";

/** Pure input checks and normalisation. Every function throws a named input error and has no side effect. */

export const UINT128_MAX = (1n << 128n) - 1n;
export const MAX_METADATA_BYTES = 4096;
/** Ids of transfers derived by the ledger itself start with this; clients may not use it. */
export const RELEASE_PREFIX = "escrow-release:";

const ID_RE = /^[A-Za-z0-9._:@/-]{1,128}$/;

export function checkId(what: string, id: unknown): string {
  if (typeof id !== "string" || !ID_RE.test(id)) {
    throw new InvalidLedgerInputError(`${what} must be 1..128 characters of [A-Za-z0-9._:@/-]`, {
      details: `got ${JSON.stringify(id)}`,
    });
  }
  return id;
}

export function checkClientTransferId(id: unknown): string {
  checkId("transfer id", id);
  if ((id as string).startsWith(RELEASE_PREFIX))
    throw new InvalidLedgerInputError(`transfer ids starting with ${RELEASE_PREFIX} are reserved`);
  return id as string;
}

/** A positive amount of minor units that fits uint128. */
export function parseAmount(v: AmountInput, what = "amount", allowZero = false): bigint {
  let a: bigint;
  if (typeof v === "bigint") a = v;
  else if (typeof v === "number") {
    if (!Number.isFinite(v) || !Number.isInteger(v))
      throw new InvalidAmountError(`${what} must be a whole number of minor units`, { details: `got ${v}` });
    if (!Number.isSafeInteger(v))
      throw new InvalidAmountError(`${what} is beyond 2^53: pass a bigint or a decimal string`, {
        details: `got ${v}`,
      });
    a = BigInt(v);
  } else if (typeof v === "string") {
    if (!/^-?[0-9]+$/.test(v))
      throw new InvalidAmountError(`${what} must be a decimal integer string of minor units`, {
        details: `got ${JSON.stringify(v)}`,
      });
    a = BigInt(v);
  } else {
    throw new InvalidAmountError(`${what} must be a bigint, an integer or a decimal string`, {
      details: `got ${typeof v}`,
    });
  }
  if (a < 0n || (a === 0n && !allowZero))
    throw new InvalidAmountError(`${what} must be ${allowZero ? "non-negative" : "positive"}`, {
      details: `got ${a}`,
    });
  if (a > UINT128_MAX) throw new InvalidAmountError(`${what} must fit uint128`, { details: `got ${a}` });
  return a;
}

export function checkAccountType(t: unknown): AccountType {
  if (typeof t !== "string" || !Object.hasOwn(ACCOUNT_TYPES, t))
    throw new InvalidLedgerInputError("unknown account type", {
      details: `expected one of ${Object.keys(ACCOUNT_TYPES).join(", ")}; got ${String(t)}`,
    });
  return t as AccountType;
}

export function checkStatus(s: unknown): AccountStatus {
  if (typeof s !== "string" || !Object.hasOwn(ACCOUNT_STATUSES, s))
    throw new InvalidLedgerInputError("unknown account status", {
      details: `expected active, frozen or closed; got ${String(s)}`,
    });
  return s as AccountStatus;
}

export function checkKind(k: unknown): TransferKind {
  if (typeof k !== "string" || !Object.hasOwn(TRANSFER_KINDS, k))
    throw new InvalidLedgerInputError("unknown transfer kind", {
      details: `expected one of ${Object.keys(TRANSFER_KINDS).join(", ")}; got ${String(k)}`,
    });
  return k as TransferKind;
}

export function checkAsset(asset: unknown): string {
  if (typeof asset !== "string") throw new InvalidLedgerInputError("asset must be a string");
  try {
    assetToBytes32(asset);
  } catch (cause) {
    throw new InvalidLedgerInputError("asset code must be 1..32 printable ASCII characters", {
      details: `got ${JSON.stringify(asset)}`,
      cause,
    });
  }
  return asset;
}

export function checkScale(scale: unknown): number {
  if (typeof scale !== "number" || !Number.isInteger(scale) || scale < 0 || scale > 36)
    throw new InvalidLedgerInputError("scale must be an integer in [0, 36]", {
      details: `got ${String(scale)}`,
    });
  return scale;
}

function checkJson(v: unknown, depth: number): void {
  if (depth > 16) throw new InvalidLedgerInputError("metadata is nested too deeply");
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new InvalidLedgerInputError("metadata numbers must be finite");
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) checkJson(x, depth + 1);
    return;
  }
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as object)) checkJson(x, depth + 1);
    return;
  }
  throw new InvalidLedgerInputError("metadata must hold only JSON values", { details: `got ${typeof v}` });
}

/** Returns the canonical JSON text of the metadata, or null when absent. */
export function checkMetadata(m: unknown): string | null {
  if (m === undefined) return null;
  if (m === null || typeof m !== "object" || Array.isArray(m))
    throw new InvalidLedgerInputError("metadata must be a JSON object");
  checkJson(m, 0);
  const text = canonicalJson(m as JsonValue);
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES)
    throw new InvalidLedgerInputError(
      `metadata must be at most ${MAX_METADATA_BYTES} bytes of canonical JSON`,
    );
  return text;
}

export function parseMetadata(text: string | null): Metadata | undefined {
  return text === null ? undefined : (JSON.parse(text) as Metadata);
}

export function checkFee(f: FeeInput | undefined): Fee | undefined {
  if (f === undefined) return undefined;
  if (typeof f !== "object" || f === null) throw new InvalidLedgerInputError("fee must be an object");
  checkId("fee code", f.code);
  if (f.base === undefined) return { code: f.code };
  return { code: f.code, base: parseAmount(f.base, "fee base", true) };
}

export function checkLimits(
  l: { maxTransferAmount?: AmountInput; maxBalance?: AmountInput } | undefined,
): AccountLimits | undefined {
  if (l === undefined) return undefined;
  if (typeof l !== "object" || l === null) throw new InvalidLedgerInputError("limits must be an object");
  for (const k of Object.keys(l))
    if (k !== "maxTransferAmount" && k !== "maxBalance")
      throw new InvalidLedgerInputError(`unknown limit ${k}`);
  const out: AccountLimits = {};
  if (l.maxTransferAmount !== undefined)
    out.maxTransferAmount = parseAmount(l.maxTransferAmount, "maxTransferAmount");
  if (l.maxBalance !== undefined) out.maxBalance = parseAmount(l.maxBalance, "maxBalance");
  return Object.keys(out).length ? out : undefined;
}

export function checkEscrowId(id: unknown): Hex {
  if (typeof id !== "string" || !isHex(id, { strict: true }) || id.length !== 66)
    throw new InvalidLedgerInputError("escrowId must be 32 bytes of 0x-hex", {
      details: `got ${String(id)}`,
    });
  return id.toLowerCase() as Hex;
}

/** "<txHash>:<logIndex>" with a 32-byte tx hash; returned in lower case. */
export function checkChainEventId(id: unknown): { chainEventId: string; txHash: Hex } {
  if (typeof id !== "string" || !/^0x[0-9a-fA-F]{64}:(0|[1-9][0-9]{0,9})$/.test(id))
    throw new InvalidLedgerInputError('chainEventId must be "<txHash>:<logIndex>"', {
      details: `got ${JSON.stringify(id)}`,
    });
  const lower = id.toLowerCase();
  return { chainEventId: lower, txHash: lower.slice(0, 66) as Hex };
}

export function checkTimeout(t: unknown): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t <= 0)
    throw new InvalidLedgerInputError("timeoutMs must be a positive integer", {
      details: `got ${String(t)}`,
    });
  return t;
}

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

/** Validates recordFact's input; hex is normalised to lower case. */
export function checkFact(input: unknown): NewFact {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new InvalidLedgerInputError("fact must be an object");
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["id", "kind", "documentHash", "subject", "asset", "amount"].includes(k))
      throw new InvalidLedgerInputError(`unknown fact field ${k}`);
  const id = checkId("fact id", o.id);
  if (typeof o.kind !== "string" || !Object.hasOwn(FACT_KINDS, o.kind))
    throw new InvalidLedgerInputError(`fact kind must be one of ${Object.keys(FACT_KINDS).join(", ")}`, {
      details: `got ${JSON.stringify(o.kind)}`,
    });
  if (typeof o.documentHash !== "string" || !HASH_RE.test(o.documentHash))
    throw new InvalidLedgerInputError("documentHash must be 0x followed by 64 hex digits", {
      details: `got ${JSON.stringify(o.documentHash)}`,
    });
  const subject = o.subject === undefined ? null : checkId("fact subject account id", o.subject);
  const asset = o.asset === undefined ? null : checkAsset(o.asset);
  let amount: bigint | null = null;
  if (o.amount !== undefined) {
    if (typeof o.amount !== "bigint" || o.amount < 0n || o.amount > UINT128_MAX)
      throw new InvalidLedgerInputError("fact amount must be a bigint in [0, 2^128)", {
        details: `got ${String(o.amount)}`,
      });
    amount = o.amount;
  }
  return {
    id,
    kind: o.kind as FactKind,
    documentHash: o.documentHash.toLowerCase() as Hex,
    subject,
    asset,
    amount,
  };
}
