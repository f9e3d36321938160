import { hash } from "node:crypto";
import type { Hasher } from "./hash";

/**
 * Node-only RFC 9162 SHA-256 hasher for bulk work (same contract as `portableHasher`, about 3×
 * faster per call). Never import this from browser-safe modules.
 */
const scratch = Buffer.alloc(65);
scratch[0] = 0x01;

export const nodeHasher: Hasher = {
  hashLeaf(leafBytes: Uint8Array): Uint8Array {
    const buf = Buffer.allocUnsafe(1 + leafBytes.length);
    buf[0] = 0x00;
    buf.set(leafBytes, 1);
    return hash("sha256", buf, "buffer");
  },
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
    scratch.set(left, 1);
    scratch.set(right, 33);
    return hash("sha256", scratch, "buffer");
  },
  emptyRoot(): Uint8Array {
    return hash("sha256", Buffer.alloc(0), "buffer");
  },
};
