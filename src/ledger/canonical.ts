import { createHash, createHmac, hash as oneShotHash } from "node:crypto";
import type { Hex } from "viem";
import { ZERO32 } from "./leaf";
import type { JsonValue } from "./types";

/**
 * Canonical JSON (RFC 8785 for the values the ledger stores): object keys sorted by UTF-16 code
 * units, no whitespace, numbers in ECMAScript form. Preconditions: the value holds only JSON types
 * and finite numbers (callers validate first).
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = value[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(",")}}`;
}

export function sha256Hex(text: string): Hex {
  return `0x${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/** SHA-256 of the canonical JSON of an event's details object, or zero when it has no fields. */
export function detailsHash(details: Record<string, JsonValue | undefined>): Hex {
  const defined = Object.keys(details).filter((k) => details[k] !== undefined);
  if (defined.length === 0) return ZERO32;
  return sha256Hex(canonicalJson(details as JsonValue));
}

// HMAC-SHA256 (RFC 2104) from two one-shot SHA-256 calls over buffers holding the key pads
// precomputed once: `createHmac` imports the key on every call, which dominated batch planning.
const BLOCK = 64;
const SCRATCH_BYTES = 1024;

/** Keyed pseudonyms: HMAC-SHA256(key, kind + ":" + id), lower-case 0x hex. */
export class Pseudonymizer {
  readonly #key: Buffer;
  readonly #accounts = new Map<string, Hex>();
  /** ipad ‖ message, written in place. */
  readonly #inner = Buffer.alloc(SCRATCH_BYTES);
  /** opad ‖ inner digest. */
  readonly #outer = Buffer.alloc(BLOCK + 32);

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
    const k = Buffer.alloc(BLOCK);
    (this.#key.length > BLOCK ? createHash("sha256").update(this.#key).digest() : this.#key).copy(k);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = k[i] ^ 0x36;
      this.#outer[i] = k[i] ^ 0x5c;
    }
  }

  of(kind: "account" | "transfer" | "hold", id: string): Hex {
    return `0x${this.ofBytes(kind, id).toString("hex")}`;
  }

  /** The same pseudonym as 32 bytes (for leaves: no hex round trip). */
  ofBytes(kind: "account" | "transfer" | "hold", id: string): Buffer {
    const message = `${kind}:${id}`;
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: beyond the scratch, the slow path.
    if (message.length * 3 > SCRATCH_BYTES - BLOCK)
      return createHmac("sha256", this.#key).update(message, "utf8").digest();
    const n = this.#inner.write(message, BLOCK, "utf8");
    const innerDigest = oneShotHash(
      "sha256",
      this.#inner.subarray(0, BLOCK + n),
      "buffer",
    ) as unknown as Buffer;
    innerDigest.copy(this.#outer, BLOCK);
    return oneShotHash("sha256", this.#outer, "buffer") as unknown as Buffer;
  }

  /** Account pseudonyms are cached: the set of accounts is small and they are used on every transfer. */
  account(id: string): Hex {
    let p = this.#accounts.get(id);
    if (p === undefined) {
      p = this.of("account", id);
      if (this.#accounts.size > 1_000_000) this.#accounts.clear();
      this.#accounts.set(id, p);
    }
    return p;
  }
}
