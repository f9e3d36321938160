import { ed25519 } from "@noble/curves/ed25519";
import { decodeBase64, encodeBase64 } from "./base64";
import { CosignatureQuorumError, NoteFormatError, NoteSignatureError } from "./errors";
import {
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  SIG_TYPE_COSIGNATURE_V1,
  checkKeyNameOrThrow,
  formatSignatureLine,
  noteKeyId,
  openNote,
  parseNote,
  safeVerify,
} from "./note";

/**
 * C2SP tlog-checkpoint v1 (origin, size, base64 root) and tlog-cosignature v1 (type 0x04,
 * timestamped Ed25519). Browser-safe. Spec: docs/checkpoints.md.
 */

export type Hex = `0x${string}`;

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** RFC 9162 root, 0x-hex lower case. */
  readonly rootHash: Hex;
}

const toHex = (b: Uint8Array): Hex =>
  `0x${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}` as Hex;

function fromHex32(h: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(h)) throw new NoteFormatError("root hash must be 32 bytes of 0x-hex");
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

/** The checkpoint's note text (three lines, no extension lines). */
export function formatCheckpoint(c: Checkpoint): string {
  if (!c.origin || /\n/.test(c.origin) || c.origin.trim() !== c.origin)
    throw new NoteFormatError("checkpoint origin must be one non-empty line");
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw new NoteFormatError("checkpoint size must be a non-negative integer");
  return `${c.origin}\n${c.size}\n${encodeBase64(fromHex32(c.rootHash))}\n`;
}

/** Parses a checkpoint note text; extension lines are rejected (this log never writes them). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  if (lines.length !== 4 || lines[3] !== "")
    throw new NoteFormatError("a checkpoint is exactly three newline-terminated lines", {
      details: `got ${lines.length - 1} lines`,
    });
  const [origin, sizeLine, rootLine] = lines;
  if (origin.length === 0) throw new NoteFormatError("checkpoint origin is empty");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine)))
    throw new NoteFormatError("checkpoint size must be decimal without leading zeros", {
      details: `got ${JSON.stringify(sizeLine.slice(0, 40))}`,
    });
  const root = decodeBase64(rootLine, "checkpoint root hash");
  if (root.length !== 32) throw new NoteFormatError("checkpoint root hash must be 32 bytes");
  return { origin, size: Number(sizeLine), rootHash: toHex(root) };
}

const utf8 = new TextEncoder();

function cosignedMessage(timestamp: bigint, text: string): Uint8Array {
  return utf8.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

/** Largest timestamp the format allows (2^63 - 1). */
const MAX_TIMESTAMP = (1n << 63n) - 1n;

/**
 * A witness's cosigner (type 0x04). `now` gives POSIX seconds. The signature is
 * timestamp (u64 big-endian) ‖ Ed25519 over "cosignature/v1\ntime <t>\n" ‖ checkpoint text.
 */
export function cosignatureSigner(
  name: string,
  seed: Uint8Array,
  now: () => number = () => Math.floor(Date.now() / 1000),
): NoteSigner {
  checkKeyNameOrThrow(name);
  if (seed.length !== 32) throw new NoteFormatError("an Ed25519 private key is a 32-byte seed");
  const pub = ed25519.getPublicKey(seed);
  return {
    name,
    keyId: noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, pub),
    sign(message) {
      const t = BigInt(now());
      if (t <= 0n || t > MAX_TIMESTAMP) throw new NoteFormatError("cosignature timestamp out of range");
      const sig = ed25519.sign(cosignedMessage(t, new TextDecoder().decode(message)), seed);
      const out = new Uint8Array(72);
      new DataView(out.buffer).setBigUint64(0, t);
      out.set(sig, 8);
      return out;
    },
  };
}

export function cosignatureVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  checkKeyNameOrThrow(name);
  if (publicKey.length !== 32) throw new NoteFormatError("an Ed25519 public key is 32 bytes");
  return {
    name,
    keyId: noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    verify(message, sig) {
      if (sig.length !== 72) return false;
      const t = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
      if (t > MAX_TIMESTAMP) return false;
      return safeVerify(sig.subarray(8), cosignedMessage(t, new TextDecoder().decode(message)), publicKey);
    },
  };
}

/** The timestamp (POSIX seconds) of a cosignature/v1 signature. */
export function cosignatureTimestamp(sig: NoteSignature): number {
  if (sig.signature.length !== 72) throw new NoteFormatError("a cosignature/v1 signature is 72 bytes");
  return Number(new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0));
}

export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** Names of the witnesses whose cosignatures verified. */
  readonly witnesses: readonly string[];
  /** Their cosignature timestamps (POSIX seconds), same order. */
  readonly timestamps: readonly number[];
}

/**
 * Verifies a signed checkpoint: the log key must sign it (origin must match), and at least `quorum`
 * distinct witnesses among `witnesses` must cosign it. A bad signature by any known key rejects it.
 */
export function verifyCheckpoint(
  note: string,
  params: { origin: string; log: NoteVerifier; witnesses?: readonly NoteVerifier[]; quorum?: number },
): VerifiedCheckpoint {
  const witnesses = params.witnesses ?? [];
  const opened = openNote(note, [params.log, ...witnesses]);
  if (!opened.verified.some((s) => s.name === params.log.name && s.keyId === params.log.keyId))
    throw new NoteSignatureError("the log key did not sign this checkpoint", {
      details: `expected a signature by ${params.log.name}`,
    });
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== params.origin)
    throw new NoteSignatureError("checkpoint origin differs from the trusted one", {
      details: `expected ${JSON.stringify(params.origin)}, got ${JSON.stringify(checkpoint.origin)}`,
    });
  const cosigs = opened.verified.filter((s) =>
    witnesses.some(
      (w) =>
        w.name === s.name &&
        w.keyId === s.keyId &&
        !(s.name === params.log.name && s.keyId === params.log.keyId),
    ),
  );
  const names = [...new Set(cosigs.map((s) => s.name))];
  const quorum = params.quorum ?? 0;
  if (names.length < quorum)
    throw new CosignatureQuorumError(quorum, names.length, `valid cosigners: ${names.join(", ") || "none"}`);
  return { checkpoint, witnesses: names, timestamps: cosigs.map(cosignatureTimestamp) };
}

/** Appends signature lines (e.g. a witness's add-checkpoint response) to a signed note, dropping duplicates. */
export function addSignatureLines(note: string, lines: readonly NoteSignature[]): string {
  const parsed = parseNote(note);
  const have = new Set(parsed.signatures.map(formatSignatureLine));
  let out = note;
  for (const l of lines) {
    const line = formatSignatureLine(l);
    if (!have.has(line)) {
      out += line;
      have.add(line);
    }
  }
  return out;
}
