import { hash } from "node:crypto";
import type { Hasher } from "./hash";
import type { PairHasher } from "./tree";

/**
 * Node-only RFC 9162 SHA-256 hasher for bulk work (same contract as `portableHasher`). Never
 * import this from browser-safe modules. `crypto.hash` with a binary (latin1) string result is 3–4× faster
 * here than asking for a Buffer (no Buffer allocation per call), so digests are copied out of
 * the string.
 */
const scratch = Buffer.alloc(65);
scratch[0] = 0x01;

function digestInto(data: Buffer, out: Uint8Array, off: number): void {
  const s = hash("sha256", data, "binary");
  for (let i = 0; i < 32; i++) out[off + i] = s.charCodeAt(i);
}

export const nodeHasher: Hasher & PairHasher = {
  hashLeaf(leafBytes: Uint8Array): Uint8Array {
    const buf = Buffer.allocUnsafe(1 + leafBytes.length);
    buf[0] = 0x00;
    buf.set(leafBytes, 1);
    const out = new Uint8Array(32);
    digestInto(buf, out, 0);
    return out;
  },
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
    scratch.set(left, 1);
    scratch.set(right, 33);
    const out = new Uint8Array(32);
    digestInto(scratch, out, 0);
    return out;
  },
  hashPairInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset: number): void {
    for (let i = 0; i < 64; i++) scratch[1 + i] = src[srcOffset + i];
    digestInto(scratch, out, outOffset);
  },
  emptyRoot(): Uint8Array {
    return Uint8Array.from(hash("sha256", Buffer.alloc(0), "buffer"));
  },
};
