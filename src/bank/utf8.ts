import { MalformedStatementError } from "./errors";

/**
 * Strict UTF-8 for statements: a byte sequence that is not UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF, nothing cut short) is refused with its byte offset instead
 * of being replaced by U+FFFD, which would change amounts or references silently. ISO 20022
 * messages are UTF-8.
 */
export class StrictUtf8Decoder {
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  #offset = 0;
  /** The whole document, for locating a fault (the decoder does not say where). */
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Decodes `chunk`, the next bytes of the document; a character cut at its end waits for the next. */
  write(chunk: Uint8Array): string {
    const at = this.#offset;
    this.#offset += chunk.length;
    try {
      return this.#decoder.decode(chunk, { stream: true });
    } catch {
      throw invalid(this.#bytes, Math.max(0, at - 3));
    }
  }

  /** The end of the document: a character cut short there is refused. */
  end(): string {
    try {
      return this.#decoder.decode();
    } catch {
      throw invalid(this.#bytes, Math.max(0, this.#offset - 3));
    }
  }
}

/** All of `bytes` as text, strictly (see StrictUtf8Decoder). */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  const d = new StrictUtf8Decoder(bytes);
  return d.write(bytes) + d.end();
}

function invalid(bytes: Uint8Array, from: number): MalformedStatementError {
  const at = firstInvalidUtf8(bytes, from);
  return new MalformedStatementError(`byte ${at}`, "not UTF-8");
}

/**
 * Offset of the first byte at which `bytes` stops being UTF-8, scanning from `from` (which must be
 * at a character boundary or within 3 bytes before the fault), or -1.
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  let i = from;
  // Step back to a character boundary: continuation bytes never start a character.
  while (i > 0 && (bytes[i] & 0xc0) === 0x80) i--;
  while (i < bytes.length) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const b = bytes[i + k];
      if (b === undefined) return i; // cut short
      if (k === 1 ? b < lo || b > hi : (b & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return -1;
}
