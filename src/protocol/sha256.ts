/**
 * The SHA-256 compression function (FIPS 180-4, section 6.2.2) in plain JS, for HMAC-SHA256 from
 * precomputed pad states: a pseudonym of a short id is then two compressions, with no call into
 * OpenSSL and no allocation. node:crypto's one-shot `hash` spends most of its ~1.5 µs per call on
 * setup, not hashing, and the ledger derives one pseudonym per transfer; the liabilities sum tree
 * hashes millions of fixed-size nodes. Pure and browser-safe. Checked against node:crypto in
 * test/ledger/pseudonym.test.ts and test/protocol/liabilities-tree.test.ts.
 */
import { InvariantError } from "../errors";

// First 32 bits of the fractional parts of the cube roots of the first 64 primes (FIPS 180-4, 4.2.2).
const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ].map((x) => x | 0),
);

// Initial hash value (FIPS 180-4, 5.3.3).
export const SHA256_IV = Int32Array.from(
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].map(
    (x) => x | 0,
  ),
);

const M = new Int32Array(16);

/** Folds the 64-byte block at `block[offset..offset+64)` into `state` (8 words). */
export function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  const m = M;
  for (let t = 0; t < 16; t++) {
    const o = offset + 4 * t;
    m[t] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
  }
  compressWords(state, m);
}

/**
 * Folds the 16 message words `m[0..16)` (big-endian values) into `state`. The schedule lives in
 * 16 locals, updated in place every 16 rounds, and the working variables are renamed instead of
 * shifted (round i of 16 below uses them rotated by i): no array traffic inside the rounds.
 */
export function compressWords(state: Int32Array, m: Int32Array): void {
  let w0 = m[0];
  let w1 = m[1];
  let w2 = m[2];
  let w3 = m[3];
  let w4 = m[4];
  let w5 = m[5];
  let w6 = m[6];
  let w7 = m[7];
  let w8 = m[8];
  let w9 = m[9];
  let w10 = m[10];
  let w11 = m[11];
  let w12 = m[12];
  let w13 = m[13];
  let w14 = m[14];
  let w15 = m[15];
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  let t1 = 0;
  let x = 0;
  let y = 0;
  for (let t = 0; t < 64; t += 16) {
    if (t > 0) {
      // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], with W[t-16] the word it replaces.
      x = w1;
      y = w14;
      w0 =
        (w0 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w9 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w2;
      y = w15;
      w1 =
        (w1 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w10 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w3;
      y = w0;
      w2 =
        (w2 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w11 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w4;
      y = w1;
      w3 =
        (w3 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w12 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w5;
      y = w2;
      w4 =
        (w4 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w13 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w6;
      y = w3;
      w5 =
        (w5 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w14 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w7;
      y = w4;
      w6 =
        (w6 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w15 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w8;
      y = w5;
      w7 =
        (w7 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w0 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w9;
      y = w6;
      w8 =
        (w8 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w1 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w10;
      y = w7;
      w9 =
        (w9 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w2 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w11;
      y = w8;
      w10 =
        (w10 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w3 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w12;
      y = w9;
      w11 =
        (w11 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w4 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w13;
      y = w10;
      w12 =
        (w12 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w5 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w14;
      y = w11;
      w13 =
        (w13 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w6 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w15;
      y = w12;
      w14 =
        (w14 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w7 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      x = w0;
      y = w13;
      w15 =
        (w15 +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          w8 +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
    }
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]; d += T1; h = T1 + Σ0(a) + Maj(a, b, c); then rename.
    t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        (g ^ (e & (f ^ g))) +
        K[t + 0] +
        w0) |
      0;
    d = (d + t1) | 0;
    h =
      (t1 +
        ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) | (c & (a | b))))) |
      0;
    t1 =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        (f ^ (d & (e ^ f))) +
        K[t + 1] +
        w1) |
      0;
    c = (c + t1) | 0;
    g =
      (t1 +
        ((((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
          ((h & a) | (b & (h | a))))) |
      0;
    t1 =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        (e ^ (c & (d ^ e))) +
        K[t + 2] +
        w2) |
      0;
    b = (b + t1) | 0;
    f =
      (t1 +
        ((((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
          ((g & h) | (a & (g | h))))) |
      0;
    t1 =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        (d ^ (b & (c ^ d))) +
        K[t + 3] +
        w3) |
      0;
    a = (a + t1) | 0;
    e =
      (t1 +
        ((((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
          ((f & g) | (h & (f | g))))) |
      0;
    t1 =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        (c ^ (a & (b ^ c))) +
        K[t + 4] +
        w4) |
      0;
    h = (h + t1) | 0;
    d =
      (t1 +
        ((((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
          ((e & f) | (g & (e | f))))) |
      0;
    t1 =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        (b ^ (h & (a ^ b))) +
        K[t + 5] +
        w5) |
      0;
    g = (g + t1) | 0;
    c =
      (t1 +
        ((((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
          ((d & e) | (f & (d | e))))) |
      0;
    t1 =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        (a ^ (g & (h ^ a))) +
        K[t + 6] +
        w6) |
      0;
    f = (f + t1) | 0;
    b =
      (t1 +
        ((((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
          ((c & d) | (e & (c | d))))) |
      0;
    t1 =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        (h ^ (f & (g ^ h))) +
        K[t + 7] +
        w7) |
      0;
    e = (e + t1) | 0;
    a =
      (t1 +
        ((((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
          ((b & c) | (d & (b | c))))) |
      0;
    t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        (g ^ (e & (f ^ g))) +
        K[t + 8] +
        w8) |
      0;
    d = (d + t1) | 0;
    h =
      (t1 +
        ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) | (c & (a | b))))) |
      0;
    t1 =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        (f ^ (d & (e ^ f))) +
        K[t + 9] +
        w9) |
      0;
    c = (c + t1) | 0;
    g =
      (t1 +
        ((((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
          ((h & a) | (b & (h | a))))) |
      0;
    t1 =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        (e ^ (c & (d ^ e))) +
        K[t + 10] +
        w10) |
      0;
    b = (b + t1) | 0;
    f =
      (t1 +
        ((((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
          ((g & h) | (a & (g | h))))) |
      0;
    t1 =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        (d ^ (b & (c ^ d))) +
        K[t + 11] +
        w11) |
      0;
    a = (a + t1) | 0;
    e =
      (t1 +
        ((((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
          ((f & g) | (h & (f | g))))) |
      0;
    t1 =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        (c ^ (a & (b ^ c))) +
        K[t + 12] +
        w12) |
      0;
    h = (h + t1) | 0;
    d =
      (t1 +
        ((((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
          ((e & f) | (g & (e | f))))) |
      0;
    t1 =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        (b ^ (h & (a ^ b))) +
        K[t + 13] +
        w13) |
      0;
    g = (g + t1) | 0;
    c =
      (t1 +
        ((((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
          ((d & e) | (f & (d | e))))) |
      0;
    t1 =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        (a ^ (g & (h ^ a))) +
        K[t + 14] +
        w14) |
      0;
    f = (f + t1) | 0;
    b =
      (t1 +
        ((((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
          ((c & d) | (e & (c | d))))) |
      0;
    t1 =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        (h ^ (f & (g ^ h))) +
        K[t + 15] +
        w15) |
      0;
    e = (e + t1) | 0;
    a =
      (t1 +
        ((((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
          ((b & c) | (d & (b | c))))) |
      0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** Writes the 8 state words big-endian at `out[offset..offset+32)`. */
export function writeState(state: Int32Array, out: Uint8Array, offset: number): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i];
    const o = offset + 4 * i;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
}

/**
 * HMAC-SHA256 (RFC 2104) with the key's inner and outer pad blocks folded once. `hmacInto` reads
 * the message from `buf[0..length)` and uses `buf` up to `length + 72` as scratch for the padding.
 */
export class HmacSha256 {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #st = new Int32Array(8);
  readonly #block = new Uint8Array(64);

  /** `key` is at most one block (64 bytes); longer keys are hashed first by the caller. */
  constructor(key: Uint8Array) {
    const pad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) pad[i] = (key[i] ?? 0) ^ 0x36;
    this.#inner.set(SHA256_IV);
    compress(this.#inner, pad, 0);
    for (let i = 0; i < 64; i++) pad[i] = (key[i] ?? 0) ^ 0x5c;
    this.#outer.set(SHA256_IV);
    compress(this.#outer, pad, 0);
  }

  hmacInto(buf: Uint8Array, length: number, out: Uint8Array, outOffset: number): void {
    const st = this.#st;
    st.set(this.#inner);
    let o = 0;
    for (; o + 64 <= length; o += 64) compress(st, buf, o);
    // Padding of the inner message (ipad block + message): 0x80, zeros, then its bit length.
    let end = length;
    buf[end++] = 0x80;
    const blockEnd = end + 8 <= o + 64 ? o + 64 : o + 128;
    buf.fill(0, end, blockEnd - 8);
    const bits = (64 + length) * 8;
    const hi = Math.floor(bits / 0x1_0000_0000);
    buf[blockEnd - 8] = hi >>> 24;
    buf[blockEnd - 7] = (hi >>> 16) & 0xff;
    buf[blockEnd - 6] = (hi >>> 8) & 0xff;
    buf[blockEnd - 5] = hi & 0xff;
    buf[blockEnd - 4] = bits >>> 24;
    buf[blockEnd - 3] = (bits >>> 16) & 0xff;
    buf[blockEnd - 2] = (bits >>> 8) & 0xff;
    buf[blockEnd - 1] = bits & 0xff;
    for (; o < blockEnd; o += 64) compress(st, buf, o);
    // Outer: opad block + 32-byte inner digest, padded to one block (bit length 768 = 0x300).
    const block = this.#block;
    writeState(st, block, 0);
    block[32] = 0x80;
    block[62] = 0x03;
    st.set(this.#outer);
    compress(st, block, 0);
    writeState(st, out, outOffset);
  }
}

/**
 * SHA-256 of messages of one fixed length (< 2^29 bytes), padded once: the caller writes each
 * message into `input[0..length)` and calls `digestInto`; nothing is allocated per hash.
 */
export class FixedLengthSha256 {
  readonly input: Uint8Array;
  readonly #blocks: number;
  readonly #st = new Int32Array(8);

  constructor(readonly length: number) {
    this.#blocks = Math.ceil((length + 9) / 64);
    this.input = new Uint8Array(64 * this.#blocks);
    this.input[length] = 0x80;
    const bits = length * 8;
    const end = this.input.length;
    this.input[end - 4] = bits >>> 24;
    this.input[end - 3] = (bits >>> 16) & 0xff;
    this.input[end - 2] = (bits >>> 8) & 0xff;
    this.input[end - 1] = bits & 0xff;
  }

  digestInto(out: Uint8Array, outOffset: number): void {
    const st = this.#st;
    st.set(SHA256_IV);
    for (let b = 0; b < this.#blocks; b++) compress(st, this.input, 64 * b);
    writeState(st, out, outOffset);
  }
}

const STATE = new Int32Array(8);

/**
 * SHA-256(prefix ‖ src[offset..offset+length)) written at `out[outOffset..outOffset+32)`, for
 * 63 ≤ length ≤ 118 (two blocks): a Merkle node's input (prefix 0x01, then its children as they lie
 * side by side in a level buffer) hashed where it lies. The message words are read straight from
 * `src`, shifted by the prefix byte; the padding is added as words; nothing is copied or allocated.
 */
export function sha256PrefixedInto(
  prefix: number,
  src: Uint8Array,
  offset: number,
  length: number,
  out: Uint8Array,
  outOffset: number,
): void {
  if (!(length >= 63 && length <= 118))
    throw new InvariantError(`two-block message length out of range: ${length}`);
  const m = M;
  const st = STATE;
  st.set(SHA256_IV);
  // Block 1: prefix ‖ src[0..63).
  m[0] = (prefix << 24) | (src[offset] << 16) | (src[offset + 1] << 8) | src[offset + 2];
  for (let t = 1; t < 16; t++) {
    const o = offset + 4 * t - 1;
    m[t] = (src[o] << 24) | (src[o + 1] << 16) | (src[o + 2] << 8) | src[o + 3];
  }
  compressWords(st, m);
  // Block 2: src[63..length) ‖ 0x80 ‖ zeros ‖ bit length of the message (below 2^32).
  const end = offset + length;
  let o = offset + 63;
  let t = 0;
  for (; o + 4 <= end; o += 4) m[t++] = (src[o] << 24) | (src[o + 1] << 16) | (src[o + 2] << 8) | src[o + 3];
  let last = 0;
  let shift = 24;
  for (; o < end; o++, shift -= 8) last |= src[o] << shift;
  m[t++] = last | (0x80 << shift);
  while (t < 15) m[t++] = 0;
  m[15] = (length + 1) * 8;
  compressWords(st, m);
  writeState(st, out, outOffset);
}
