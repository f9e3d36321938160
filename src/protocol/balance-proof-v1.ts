import { sha256 } from "@noble/hashes/sha2";
import { InvalidArgumentError } from "../errors";
import {
  BALANCE_LIMIT,
  MAX_TREE_HEIGHT,
  foldSumPath,
  liabilityLeafHash,
  sumLimitAt,
  sumTreeNode,
  sumTreePath,
  type Sha256,
  type SumSibling,
  type SumTree,
} from "./liabilities-tree-v1";

/**
 * `custody-balance-proof-v1` (spec: docs/balance-proof-v1.md): one customer's leaf inputs in a
 * liabilities snapshot, its sibling path with sums, the snapshot and where it is committed on chain.
 * Pure and browser-safe. The on-chain half of verification lives in src/verify/balance-proof.ts.
 */
export const BALANCE_PROOF_VERSION = "custody-balance-proof-v1";

type Hex = `0x${string}`;

export interface BalanceProofSnapshotJson {
  /** Asset code (1..32 printable ASCII), as in the ledger. */
  asset: string;
  /** Business day, YYYY-MM-DD (UTC). */
  day: string;
  /** Log tree size at which balances were taken. */
  logSize: number;
  height: number;
  /** 2^height: the published bound on the number of customers. */
  leafCount: number;
  rootHash: Hex;
  /** Decimal string of minor units. */
  rootSum: string;
}

export interface BalanceProofJson {
  version: typeof BALANCE_PROOF_VERSION;
  account: { id: string; pseudonym: Hex };
  leaf: { index: number; key: Hex; salt: Hex; balance: string; hash: Hex };
  path: { hash: Hex; sum: string }[];
  snapshot: BalanceProofSnapshotJson;
  chain: { chainId: number; solvencyContract: Hex };
}

/** A proof document that is not a well-formed custody-balance-proof-v1. */
export class BalanceProofFormatError extends InvalidArgumentError {
  override name = "BalanceProofFormatError";
  override readonly code = "INVALID_BALANCE_PROOF";
}

/** Stable names of the checks, in the order they run (docs/balance-proof-v1.md §Verification). */
export type BalanceCheckName =
  | "format"
  | "balanceRange"
  | "leafHash"
  | "pathLength"
  | "siblingSums"
  | "rootHash"
  | "rootSum"
  | "chainId"
  | "commitment"
  | "reservesAttested"
  | "reservesCoverLiabilities";

export interface BalanceCheck {
  name: BalanceCheckName;
  ok: boolean;
  detail: string;
}

export interface BalanceVerdict {
  ok: boolean;
  checks: BalanceCheck[];
  failedCheck?: BalanceCheckName;
  reason?: string;
}

export function balanceVerdictOf(checks: BalanceCheck[]): BalanceVerdict {
  const failed = checks.find((c) => !c.ok);
  const v: BalanceVerdict = { ok: checks.length > 0 && !failed, checks };
  if (failed) {
    v.failedCheck = failed.name;
    v.reason = failed.detail;
  }
  return v;
}

const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const ASSET = /^[\x21-\x7e]{1,32}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Days since 1970-01-01 of a YYYY-MM-DD date (the contract's `day`). */
export function dayNumberOf(day: string): number {
  const ms = DAY.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw new InvalidArgumentError(`not a calendar day: ${JSON.stringify(day)}`, {
      details: "expected YYYY-MM-DD",
    });
  return ms / 86_400_000;
}

export function dayOfNumber(dayNumber: number): string {
  return new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
}

/** The asset as the contract's bytes32: ASCII bytes, zero-padded on the right. */
export function assetBytes32(asset: string): Uint8Array {
  if (!ASSET.test(asset))
    throw new InvalidArgumentError(`not an asset code: ${JSON.stringify(asset)}`, {
      details: "expected 1..32 printable ASCII characters",
    });
  const out = new Uint8Array(32);
  for (let i = 0; i < asset.length; i++) out[i] = asset.charCodeAt(i);
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): Hex {
  let s = "0x";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s as Hex;
}

/** A parsed proof: the same fields with bytes and bigints. Sums may be negative here (checked later). */
export interface BalanceProof {
  json: BalanceProofJson;
  index: number;
  key: Uint8Array;
  salt: Uint8Array;
  balance: bigint;
  leafHash: Uint8Array;
  path: SumSibling[];
  rootHash: Uint8Array;
  rootSum: bigint;
  dayNumber: number;
}

/**
 * Checks the document's shape and decodes it. Integers are parsed as written (a negative sibling
 * sum is a well-formed number that the `siblingSums` check rejects). Throws {@link BalanceProofFormatError}.
 */
export function parseBalanceProof(raw: unknown): BalanceProof {
  const fail = (details: string): never => {
    throw new BalanceProofFormatError(`not a ${BALANCE_PROOF_VERSION} document`, { details });
  };
  const obj = (v: unknown, f: string): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(`${f}: expected an object`);
  const hex32 = (v: unknown, f: string): Hex =>
    typeof v === "string" && HEX32.test(v) ? (v as Hex) : fail(`${f}: expected 0x + 64 lower-case hex`);
  const int = (v: unknown, f: string): bigint =>
    typeof v === "string" && INTEGER.test(v) && v.length <= 80
      ? BigInt(v)
      : fail(`${f}: expected a decimal integer string, found ${JSON.stringify(v)}`);
  const count = (v: unknown, f: string): number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0
      ? v
      : fail(`${f}: expected a non-negative integer, found ${JSON.stringify(v)}`);
  const d = obj(raw, "document");
  if (d.version !== BALANCE_PROOF_VERSION)
    fail(`version: expected "${BALANCE_PROOF_VERSION}", found ${JSON.stringify(d.version)}`);
  const account = obj(d.account, "account");
  if (typeof account.id !== "string") fail("account.id: expected a string");
  hex32(account.pseudonym, "account.pseudonym");
  const leaf = obj(d.leaf, "leaf");
  const snapshot = obj(d.snapshot, "snapshot");
  const chain = obj(d.chain, "chain");
  if (!Array.isArray(d.path) || d.path.length > MAX_TREE_HEIGHT)
    fail(`path: expected an array of at most ${MAX_TREE_HEIGHT} siblings`);
  const path = (d.path as unknown[]).map((p, i) => {
    const s = obj(p, `path[${i}]`);
    return { hash: hexToBytes(hex32(s.hash, `path[${i}].hash`)), sum: int(s.sum, `path[${i}].sum`) };
  });
  if (typeof snapshot.asset !== "string" || !ASSET.test(snapshot.asset))
    fail("snapshot.asset: expected an asset code");
  if (typeof snapshot.day !== "string") fail("snapshot.day: expected YYYY-MM-DD");
  let dayNumber = 0;
  try {
    dayNumber = dayNumberOf(snapshot.day as string);
  } catch {
    fail(`snapshot.day: expected YYYY-MM-DD, found ${JSON.stringify(snapshot.day)}`);
  }
  count(snapshot.logSize, "snapshot.logSize");
  count(snapshot.height, "snapshot.height");
  count(snapshot.leafCount, "snapshot.leafCount");
  count(chain.chainId, "chain.chainId");
  if (typeof chain.solvencyContract !== "string" || !ADDRESS.test(chain.solvencyContract))
    fail("chain.solvencyContract: expected an address");
  return {
    json: raw as BalanceProofJson,
    index: count(leaf.index, "leaf.index"),
    key: hexToBytes(hex32(leaf.key, "leaf.key")),
    salt: hexToBytes(hex32(leaf.salt, "leaf.salt")),
    balance: int(leaf.balance, "leaf.balance"),
    leafHash: hexToBytes(hex32(leaf.hash, "leaf.hash")),
    path,
    rootHash: hexToBytes(hex32(snapshot.rootHash, "snapshot.rootHash")),
    rootSum: int(snapshot.rootSum, "snapshot.rootSum"),
    dayNumber,
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The offline checks: format, the balance's range, the leaf re-hash, the path's length (the
 * snapshot's fixed height), every sibling sum in its level's range, and the root hash and root sum
 * recomputed from the path equal to the snapshot's. Each check is reported; later ones are skipped
 * after the first failure that makes them meaningless.
 */
export function verifyBalanceProofOffline(
  raw: unknown,
  hash: Sha256 = sha256,
): { verdict: BalanceVerdict; proof?: BalanceProof } {
  const checks: BalanceCheck[] = [];
  let proof: BalanceProof;
  try {
    proof = parseBalanceProof(raw);
  } catch (err) {
    checks.push({ name: "format", ok: false, detail: (err as Error).message });
    return { verdict: balanceVerdictOf(checks) };
  }
  checks.push({ name: "format", ok: true, detail: BALANCE_PROOF_VERSION });
  const done = () => ({ verdict: balanceVerdictOf(checks), proof });
  const inRange = proof.balance >= 0n && proof.balance < BALANCE_LIMIT;
  checks.push({
    name: "balanceRange",
    ok: inRange,
    detail: inRange ? `0 <= ${proof.balance} < 2^64` : `balance ${proof.balance} is outside 0..2^64-1`,
  });
  if (!inRange) return done();
  const leafHash = liabilityLeafHash(proof.key, proof.salt, proof.balance, hash);
  const leafOk = equal(leafHash, proof.leafHash);
  checks.push({
    name: "leafHash",
    ok: leafOk,
    detail: leafOk
      ? `SHA-256(0x00 ‖ key ‖ salt ‖ balance) = ${bytesToHex(leafHash)}`
      : `key, salt and balance hash to ${bytesToHex(leafHash)}, the proof says ${bytesToHex(proof.leafHash)}`,
  });
  if (!leafOk) return done();
  const s = proof.json.snapshot;
  const lengthOk =
    s.height <= MAX_TREE_HEIGHT &&
    proof.path.length === s.height &&
    s.leafCount === 2 ** s.height &&
    proof.index < s.leafCount;
  checks.push({
    name: "pathLength",
    ok: lengthOk,
    detail: lengthOk
      ? `${proof.path.length} siblings for height ${s.height} (${s.leafCount} leaves), index ${proof.index}`
      : `expected ${s.height} siblings, leafCount 2^${s.height} and index below it; found ${proof.path.length} siblings, leafCount ${s.leafCount}, index ${proof.index}`,
  });
  if (!lengthOk) return done();
  const folded = foldSumPath(leafHash, proof.balance, proof.index, proof.path, hash);
  checks.push({
    name: "siblingSums",
    ok: folded.ok,
    detail: folded.ok ? "every sibling sum is within its level's range" : folded.problem,
  });
  if (!folded.ok) return done();
  const rootOk = equal(folded.rootHash, proof.rootHash);
  checks.push({
    name: "rootHash",
    ok: rootOk,
    detail: rootOk
      ? `the path folds to ${s.rootHash}`
      : `the path folds to ${bytesToHex(folded.rootHash)}, the snapshot says ${s.rootHash}`,
  });
  const sumOk = folded.rootSum === proof.rootSum;
  checks.push({
    name: "rootSum",
    ok: sumOk,
    detail: sumOk
      ? `the sums add up to ${folded.rootSum}`
      : `the sums add up to ${folded.rootSum}, the snapshot says ${proof.rootSum}`,
  });
  return done();
}

/** Per-level range (for docs and callers): a sibling at `level` holds 2^level leaves. */
export const siblingSumLimit = sumLimitAt;

/** The document for the account at `position` of a built snapshot tree. */
export function balanceProofFromTree(params: {
  tree: SumTree;
  position: number;
  key: Uint8Array;
  salt: Uint8Array;
  balance: bigint;
  account: { id: string; pseudonym: Hex };
  snapshot: { asset: string; day: string; logSize: number };
  chain: { chainId: number; solvencyContract: Hex };
}): BalanceProofJson {
  const { tree, position } = params;
  return {
    version: BALANCE_PROOF_VERSION,
    account: params.account,
    leaf: {
      index: position,
      key: bytesToHex(params.key),
      salt: bytesToHex(params.salt),
      balance: params.balance.toString(),
      hash: bytesToHex(sumTreeNode(tree, 0, position).hash),
    },
    path: sumTreePath(tree, position).map((s) => ({ hash: bytesToHex(s.hash), sum: s.sum.toString() })),
    snapshot: {
      asset: params.snapshot.asset,
      day: params.snapshot.day,
      logSize: params.snapshot.logSize,
      height: tree.height,
      leafCount: 2 ** tree.height,
      rootHash: bytesToHex(tree.rootHash),
      rootSum: tree.rootSum.toString(),
    },
    chain: params.chain,
  };
}
