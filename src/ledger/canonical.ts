import { createHash, createHmac } from "node:crypto";
import type { Hex } from "viem";
import { ZERO32 } from "../protocol/leaf-v1";
import { HmacSha256 } from "../protocol/sha256";
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

// A message longer than this takes the createHmac path (ids are short; the scratch is reused).
const SCRATCH_BYTES = 1024;

/** Keyed pseudonyms: HMAC-SHA256(key, kind + ":" + id), lower-case 0x hex. */
export class Pseudonymizer {
  readonly #key: Buffer;
  readonly #accounts = new Map<string, Hex>();
  readonly #hmac: HmacSha256;
  /** The message, then room for its padding (see HmacSha256.hmacInto). */
  readonly #scratch = Buffer.alloc(SCRATCH_BYTES + 128);

  constructor(key: Uint8Array) {
    this.#key = Buffer.from(key);
    // RFC 2104: a key longer than the block is replaced by its hash.
    this.#hmac = new HmacSha256(
      this.#key.length > 64 ? createHash("sha256").update(this.#key).digest() : this.#key,
    );
  }

  of(kind: "account" | "transfer" | "hold" | "fact", id: string): Hex {
    return `0x${this.ofBytes(kind, id).toString("hex")}`;
  }

  /** The same pseudonym as 32 bytes (for leaves: no hex round trip). */
  ofBytes(kind: "account" | "transfer" | "hold" | "fact", id: string): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.writeInto(kind, id, out, 0);
    return out;
  }

  /** Writes the pseudonym's 32 bytes at `out[offset..offset+32)`. */
  writeInto(
    kind: "account" | "transfer" | "hold" | "fact",
    id: string,
    out: Uint8Array,
    offset: number,
  ): void {
    const message = `${kind}:${id}`;
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit: beyond the scratch, the slow path.
    if (message.length * 3 > SCRATCH_BYTES) {
      out.set(createHmac("sha256", this.#key).update(message, "utf8").digest(), offset);
      return;
    }
    const n = this.#scratch.write(message, 0, "utf8");
    this.#hmac.hmacInto(this.#scratch, n, out, offset);
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
