import { decodeBase64, encodeBase64 } from "./base64";
import { NoteFormatError } from "./errors";

/**
 * The body of a C2SP tlog-witness `add-checkpoint` request: "old <size>\n", up to 63 base64
 * consistency-proof lines, a blank line, then the signed checkpoint. Browser-safe.
 */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
}

export const MAX_PROOF_LINES = 63;

export function formatAddCheckpointRequest(r: AddCheckpointRequest): string {
  if (r.proof.length > MAX_PROOF_LINES)
    throw new NoteFormatError(`a consistency proof has at most ${MAX_PROOF_LINES} hashes`);
  return `old ${r.oldSize}\n${r.proof.map((h) => encodeBase64(h) + "\n").join("")}\n${r.checkpoint}`;
}

export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  const blank = body.indexOf("\n\n");
  if (blank < 0) throw new NoteFormatError("add-checkpoint body has no blank line before the checkpoint");
  const head = body.slice(0, blank).split("\n");
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0]);
  if (!m || !Number.isSafeInteger(Number(m[1])))
    throw new NoteFormatError('add-checkpoint body must start with "old <size>"', {
      details: `got ${JSON.stringify(head[0].slice(0, 40))}`,
    });
  const proofLines = head.slice(1);
  if (proofLines.length > MAX_PROOF_LINES)
    throw new NoteFormatError(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof = proofLines.map((l, i) => {
    const h = decodeBase64(l, `proof line ${i + 1}`);
    if (h.length !== 32) throw new NoteFormatError(`proof line ${i + 1} is not a 32-byte hash`);
    return h;
  });
  return { oldSize: Number(m[1]), proof, checkpoint: body.slice(blank + 2) };
}
