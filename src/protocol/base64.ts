import { NoteFormatError } from "./errors";

/** RFC 4648 §4 standard base64 (with padding). Browser-safe. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8);
    s += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
    s += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] + "=" : "==";
  }
  return s;
}

/** Decodes canonical base64 only: non-zero padding bits or stray characters are rejected (one encoding per value). */
export function decodeBase64(s: string, what = "base64 value"): Uint8Array {
  if (!CANONICAL.test(s))
    throw new NoteFormatError(`${what} is not standard base64`, {
      details: `got ${JSON.stringify(s.slice(0, 80))}`,
    });
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n =
      (ALPHABET.indexOf(s[i]) << 18) |
      (ALPHABET.indexOf(s[i + 1]) << 12) |
      ((s[i + 2] === "=" ? 0 : ALPHABET.indexOf(s[i + 2])) << 6) |
      (s[i + 3] === "=" ? 0 : ALPHABET.indexOf(s[i + 3]));
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  if (encodeBase64(out) !== s)
    throw new NoteFormatError(`${what} is not canonical base64`, {
      details: `got ${JSON.stringify(s.slice(0, 80))}`,
    });
  return out;
}
