import { hash as nodeHash } from "node:crypto";
import { Worker } from "node:worker_threads";

/**
 * RFC 9162 leaf hashes of a large batch, computed on two cores: a helper thread and the caller
 * share the leaves chunk by chunk while the caller's thread goes on writing the batch's other rows.
 * The caller never waits on the helper for work it could do itself: after its own writes it claims
 * whatever chunks are left and only waits for chunks the helper is hashing at that moment (and
 * redoes those itself if the helper does not answer in time). Results are the same bytes whoever
 * computes them.
 *
 * Leaves must live in SharedArrayBuffer memory (see leaf-writer.ts): each is 0x00 ‖ 416 leaf bytes.
 */
const CHUNK = 256;
/** Below this many leaves the batch is hashed inline: the hand-off costs more than it saves. */
export const PARALLEL_MIN_LEAVES = 1024;
const STALL_MS = 2_000;

// Per chunk: 0 free, 1 claimed, 2 done. ctrl[0] = next chunk to claim, ctrl[1] = chunks done.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { hash } = require("node:crypto");
parentPort.on("message", (job) => {
  const { ctrl, states, slabs, refs, out, n, chunk, chunks } = job;
  for (;;) {
    const c = Atomics.add(ctrl, 0, 1);
    if (c >= chunks) break;
    if (Atomics.compareExchange(states, c, 0, 1) !== 0) continue;
    const end = Math.min(n, (c + 1) * chunk);
    for (let i = c * chunk; i < end; i++) {
      const leaf = new Uint8Array(slabs[refs[2 * i]], refs[2 * i + 1], 417);
      out.set(hash("sha256", leaf, "buffer"), 32 * i);
    }
    Atomics.store(states, c, 2);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
  }
});
`;

let helper: Worker | undefined;
let helperFailed = false;

function getHelper(): Worker | undefined {
  if (helper || helperFailed) return helper;
  try {
    helper = new Worker(WORKER_SOURCE, { eval: true });
    helper.on("error", () => {
      helperFailed = true;
      helper = undefined;
    });
    // Never keeps the process alive (after the listener: adding one refs the port again).
    helper.unref();
  } catch {
    helperFailed = true;
  }
  return helper;
}

export interface HashJob {
  /** Waits for (or finishes) the hashing; returns each leaf's 32-byte hash, in order. */
  finish(): Buffer[];
  /** After `finish`: how many chunks the helper thread hashed (0 when inline). */
  readonly helperChunks: number;
}

/** `leaves[i]` is a Buffer over shared memory holding 0x00 ‖ leaf (417 bytes). */
export function startLeafHashes(leaves: readonly Buffer[]): HashJob {
  const n = leaves.length;
  const worker = n >= PARALLEL_MIN_LEAVES ? getHelper() : undefined;
  if (!worker || !leaves.every((l) => l.buffer instanceof SharedArrayBuffer)) {
    return {
      finish: () => leaves.map((l) => nodeHash("sha256", l, "buffer") as unknown as Buffer),
      helperChunks: 0,
    };
  }
  const chunks = Math.ceil(n / CHUNK);
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const states = new Int32Array(new SharedArrayBuffer(4 * chunks));
  const outBuf = Buffer.from(new SharedArrayBuffer(32 * n));
  const slabs: SharedArrayBuffer[] = [];
  const slabIndex = new Map<SharedArrayBuffer, number>();
  const refs = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const l = leaves[i];
    const sab = l.buffer as SharedArrayBuffer;
    let k = slabIndex.get(sab);
    if (k === undefined) {
      k = slabs.length;
      slabs.push(sab);
      slabIndex.set(sab, k);
    }
    refs[2 * i] = k;
    refs[2 * i + 1] = l.byteOffset;
  }
  worker.postMessage({
    ctrl,
    states,
    slabs,
    refs,
    out: new Uint8Array(outBuf.buffer),
    n,
    chunk: CHUNK,
    chunks,
  });

  const hashChunk = (c: number) => {
    const end = Math.min(n, (c + 1) * CHUNK);
    for (let i = c * CHUNK; i < end; i++)
      outBuf.set(nodeHash("sha256", leaves[i], "buffer") as unknown as Buffer, 32 * i);
  };
  let mine = 0;
  return {
    get helperChunks() {
      return chunks - mine;
    },
    finish() {
      // Take whatever the helper has not claimed yet.
      for (;;) {
        const c = Atomics.add(ctrl, 0, 1);
        if (c >= chunks) break;
        if (Atomics.compareExchange(states, c, 0, 1) !== 0) continue;
        hashChunk(c);
        mine++;
        Atomics.store(states, c, 2);
        Atomics.add(ctrl, 1, 1);
      }
      // Then wait for the chunks the helper is on; if it stalls, do them here (same bytes).
      const deadline = Date.now() + STALL_MS;
      for (let done = Atomics.load(ctrl, 1); done < chunks; done = Atomics.load(ctrl, 1)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          for (let c = 0; c < chunks; c++) {
            if (Atomics.load(states, c) === 2) continue;
            hashChunk(c);
            mine++;
          }
          break;
        }
        Atomics.wait(ctrl, 1, done, left);
      }
      const out: Buffer[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = outBuf.subarray(32 * i, 32 * i + 32);
      return out;
    },
  };
}
