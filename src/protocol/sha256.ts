/**
 * The SHA-256 compression function (FIPS 180-4, section 6.2.2) in plain JS, for HMAC-SHA256 from
 * precomputed pad states: a pseudonym of a short id is then two compressions, with no call into
 * OpenSSL and no allocation. node:crypto's one-shot `hash` spends most of its ~1.5 µs per call on
 * setup, not hashing, and the ledger derives one pseudonym per transfer; the liabilities sum tree
 * hashes millions of fixed-size nodes. Pure and browser-safe. Checked against node:crypto in
 * test/ledger/pseudonym.test.ts and test/protocol/liabilities-tree.test.ts.
 */

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

const W = new Int32Array(64);

/** Folds the 64-byte block at `block[offset..offset+64)` into `state` (8 words). */
export function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  const w = W;
  for (let t = 0; t < 16; t++) {
    const o = offset + 4 * t;
    w[t] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
  }
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15];
    const y = w[t - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + K[t] + w[t]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
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
