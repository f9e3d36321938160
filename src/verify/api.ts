import * as z from "zod/mini";
import type { Address, Hex } from "viem";
import { CustodyError, InvalidArgumentError } from "../errors";
import { parseLeafProof, type LeafProof } from "../protocol/receipt-v1";

/**
 * Reads what a verifier needs from the project's API (GET /v1/proofs/by-leaf-hash/:leafHash and
 * GET /v1/config). Nothing read here is trusted: every proof is then checked against the chain.
 * Browser-safe (global fetch).
 */

/** The API could not be reached or answered something unusable. */
export class ApiReadError extends CustodyError {
  override name = "ApiReadError";
  readonly status?: number;
  constructor(message: string, opts: { details?: string; cause?: unknown; status?: number } = {}) {
    super("API_UNAVAILABLE", message, opts);
    this.status = opts.status;
  }
}

/** The API knows no anchored leaf with that hash (404), or not yet an anchored head covering it. */
export class LeafNotFoundError extends CustodyError {
  override name = "LeafNotFoundError";
  readonly leafHash: Hex;
  constructor(leafHash: Hex, details?: string) {
    super("LEAF_NOT_FOUND", `no anchored leaf with hash ${leafHash}`, { details });
    this.leafHash = leafHash;
  }
}

/** What GET /v1/config tells the receipt checker (suggestions only; the user may override them). */
export interface VerifierConfig {
  chainId?: number;
  rpcUrl?: string;
  custodyAnchor?: Address;
  /**
   * A custody-trust-policy-v1 the platform suggests. Supplied by the platform, so not independent:
   * a verifier shows it as such and prefers a policy the user got out of band.
   */
  suggestedTrustPolicy?: unknown;
}

const configSchema = z.object({
  chainId: z.optional(z.int().check(z.minimum(1))),
  rpcUrl: z.optional(z.string()),
  custodyAnchor: z.optional(
    z.pipe(
      z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/)),
      z.transform((a) => a.toLowerCase() as Address),
    ),
  ),
  suggestedTrustPolicy: z.optional(z.unknown()),
});

/** Accepts a leaf hash in any hex case; returns it lower-case or throws InvalidArgumentError. */
export function normalizeLeafHash(leafHash: string): Hex {
  const h = leafHash.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(h))
    throw new InvalidArgumentError("a leaf hash is 32 bytes of 0x-hex", {
      details: `got ${JSON.stringify(h)}`,
    });
  return h.toLowerCase() as Hex;
}

function urlOf(apiUrl: string, path: string): string {
  // A relative apiUrl ("" or "/") means the page's own origin.
  const base = apiUrl.replace(/\/+$/, "");
  return `${base}${path}`;
}

async function getJson(url: string, fetchImpl: typeof fetch): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new ApiReadError(`could not reach ${url}`, { cause, details: String(cause) });
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (cause) {
    body = undefined;
    if (res.ok) throw new ApiReadError(`${url} did not answer JSON`, { cause, status: res.status });
  }
  return { status: res.status, body };
}

/**
 * Fetches the inclusion proof of a leaf hash from the API and checks that it is about that leaf.
 * Throws LeafNotFoundError (404), ApiReadError, or ReceiptFormatError for a malformed answer.
 *
 * @example
 * const proof = await fetchLeafProof("https://custody.example", leafHash);
 * const verdict = await verifyLeafProof(proof, { rpcUrl, expectedContract });
 */
export async function fetchLeafProof(
  apiUrl: string,
  leafHash: string,
  fetchImpl: typeof fetch = fetch,
): Promise<LeafProof> {
  const hash = normalizeLeafHash(leafHash);
  const url = urlOf(apiUrl, `/v1/proofs/by-leaf-hash/${hash}`);
  const { status, body } = await getJson(url, fetchImpl);
  if (status === 404) throw new LeafNotFoundError(hash, JSON.stringify(body ?? null));
  if (status < 200 || status > 299)
    throw new ApiReadError(`${url} answered HTTP ${status}`, {
      status,
      details: JSON.stringify(body ?? null),
    });
  const proof = parseLeafProof(body);
  if (proof.leafHash !== hash)
    throw new ApiReadError("the API answered a proof for another leaf", {
      details: `asked ${hash}, got ${proof.leafHash}`,
    });
  return proof;
}

/** Fetches GET /v1/config. Throws ApiReadError when it is missing or malformed. */
export async function fetchVerifierConfig(
  apiUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<VerifierConfig> {
  const url = urlOf(apiUrl, "/v1/config");
  const { status, body } = await getJson(url, fetchImpl);
  if (status < 200 || status > 299) throw new ApiReadError(`${url} answered HTTP ${status}`, { status });
  const parsed = configSchema.safeParse(body);
  if (!parsed.success)
    throw new ApiReadError(`${url} answered a malformed config`, {
      details: parsed.error.issues[0]?.message,
    });
  return parsed.data;
}
