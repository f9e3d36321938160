import { HASH_SIZE } from "./hash";
import { InvalidProofInputError } from "./errors";

/** 0x-prefixed hex string (same shape as viem's `Hex`). */
export type Hex = `0x${string}`;

const HEX_CHARS = "0123456789abcdef";

/** Lower-case 0x-hex of bytes. */
export function toHex(bytes: Uint8Array): Hex {
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) s += HEX_CHARS[bytes[i] >> 4] + HEX_CHARS[bytes[i] & 15];
  return s as Hex;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * A 32-byte hash from 0x-hex (either case) or bytes. Anything else — missing 0x, odd length, a
 * non-hex digit, another length — throws InvalidProofInputError naming `what`.
 */
export function toHash(value: Hex | Uint8Array | string, what = "hash"): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== HASH_SIZE)
      throw new InvalidProofInputError(`${what} must be ${HASH_SIZE} bytes`, {
        details: `got ${value.length} bytes`,
      });
    return value;
  }
  if (typeof value !== "string" || !value.startsWith("0x") || value.length !== 2 + 2 * HASH_SIZE) {
    throw new InvalidProofInputError(`${what} must be ${HASH_SIZE} bytes of 0x-hex`, {
      details: `got ${typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : typeof value}`,
    });
  }
  const out = new Uint8Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) {
    const hi = nibble(value.charCodeAt(2 + 2 * i));
    const lo = nibble(value.charCodeAt(3 + 2 * i));
    if (hi < 0 || lo < 0)
      throw new InvalidProofInputError(`${what} is not hex`, { details: `got ${JSON.stringify(value)}` });
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
