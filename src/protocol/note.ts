import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2";
import { decodeBase64, encodeBase64 } from "./base64";
import { NoteFormatError, NoteSignatureError } from "./errors";

/**
 * C2SP signed-note v1 (c2sp.org/signed-note): text ending in "\n", a blank line, then lines
 * "— <key name> base64(keyId[4] ‖ signature)". Browser-safe. Spec: docs/checkpoints.md.
 */

/** Signature type bytes of the note spec that this project uses. */
export const SIG_TYPE_ED25519 = 0x01;
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/** Signature lines beyond this make a note malformed (the spec requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH = "\u2014";
const SIG_PREFIX = `${EM_DASH} `;

export interface NoteSignature {
  readonly name: string;
  /** uint32 key id (big-endian first 4 bytes of the decoded signature). */
  readonly keyId: number;
  /** The signature bytes after the key id. */
  readonly signature: Uint8Array;
}

export interface SignedNote {
  /** The note text, including its final newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** Requires `message` to be the UTF-8 note text. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

const utf8 = new TextEncoder();

/** Key names are non-empty with no Unicode space and no "+" (signed-note §Format). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

export function checkKeyNameOrThrow(name: string): void {
  if (!isValidKeyName(name))
    throw new NoteFormatError("key name must be non-empty, without spaces or '+'", {
      details: `got ${JSON.stringify(name)}`,
    });
}

/** key ID = SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4], big-endian. */
export function noteKeyId(name: string, sigType: number, publicKey: Uint8Array): number {
  const n = utf8.encode(name);
  const buf = new Uint8Array(n.length + 2 + publicKey.length);
  buf.set(n);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = sigType;
  buf.set(publicKey, n.length + 2);
  const h = sha256(buf);
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

function hasForbiddenControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Parses a signed note without checking any signature (see openNote). */
export function parseNote(note: string): SignedNote {
  if (typeof note !== "string") throw new NoteFormatError("a note must be a string");
  if (hasForbiddenControl(note))
    throw new NoteFormatError("note holds a control character other than newline");
  if (/\p{Cs}/u.test(note)) throw new NoteFormatError("note is not valid UTF-8 (lone surrogate)");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new NoteFormatError("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n"))
    throw new NoteFormatError("note must end with newline-terminated signature lines");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw new NoteFormatError(`note has more than ${MAX_NOTE_SIGNATURES} signatures`, {
      details: `got ${lines.length}`,
    });
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(SIG_PREFIX))
      throw new NoteFormatError(`signature line ${i + 1} does not start with "— "`, {
        details: `got ${JSON.stringify(line.slice(0, 80))}`,
      });
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(" ");
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? "" : rest.slice(sp + 1);
    if (!isValidKeyName(name)) throw new NoteFormatError(`signature line ${i + 1} has an invalid key name`);
    const raw = decodeBase64(b64, `signature of ${name}`);
    if (raw.length < 5)
      throw new NoteFormatError(`signature line ${i + 1} is shorter than a key id and one byte`);
    const keyId = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    return { name, keyId, signature: raw.slice(4) };
  });
  return { text, signatures };
}

export function formatSignatureLine(sig: NoteSignature): string {
  const raw = new Uint8Array(4 + sig.signature.length);
  new DataView(raw.buffer).setUint32(0, sig.keyId);
  raw.set(sig.signature, 4);
  return `${SIG_PREFIX}${sig.name} ${encodeBase64(raw)}\n`;
}

export function formatNote(note: SignedNote): string {
  if (!note.text.endsWith("\n")) throw new NoteFormatError("note text must end with a newline");
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join("")}`;
}

/** Signs `text` (which must end in "\n") with each signer: a complete signed note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith("\n") || hasForbiddenControl(text))
    throw new NoteFormatError("note text must end with a newline and hold no control characters");
  const msg = utf8.encode(text);
  return formatNote({
    text,
    signatures: signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(msg) })),
  });
}

export interface OpenedNote extends SignedNote {
  /** Signatures by known keys that verified (one per key). */
  readonly verified: readonly NoteSignature[];
}

/**
 * Parses `note` and checks the signatures of known keys: unknown keys are ignored; a known key's
 * failing signature rejects the whole note; no verified known signature rejects it too.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  const msg = utf8.encode(parsed.text);
  const verified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) continue;
    const key = `${sig.name}+${hex8(sig.keyId)}`;
    if (seen.has(key)) continue;
    if (!v.verify(msg, sig.signature))
      throw new NoteSignatureError(`signature by ${key} does not verify`, {
        details: "a known key's bad signature rejects the whole note",
      });
    seen.add(key);
    verified.push(sig);
  }
  if (verified.length === 0)
    throw new NoteSignatureError("no known key signed this note", {
      details: `known: ${verifiers.map((v) => `${v.name}+${hex8(v.keyId)}`).join(", ") || "none"}; found: ${
        parsed.signatures.map((s) => `${s.name}+${hex8(s.keyId)}`).join(", ") || "none"
      }`,
    });
  return { ...parsed, verified };
}

/** Ed25519 note signer (type 0x01) from a 32-byte seed. */
export function ed25519NoteSigner(name: string, seed: Uint8Array): NoteSigner {
  checkKeyNameOrThrow(name);
  if (seed.length !== 32) throw new NoteFormatError("an Ed25519 private key is a 32-byte seed");
  const pub = ed25519.getPublicKey(seed);
  return { name, keyId: noteKeyId(name, SIG_TYPE_ED25519, pub), sign: (m) => ed25519.sign(m, seed) };
}

/** Ed25519 note verifier (type 0x01). */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  checkKeyNameOrThrow(name);
  if (publicKey.length !== 32) throw new NoteFormatError("an Ed25519 public key is 32 bytes");
  return {
    name,
    keyId: noteKeyId(name, SIG_TYPE_ED25519, publicKey),
    verify: (m, s) => s.length === 64 && safeVerify(s, m, publicKey),
  };
}

export function safeVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
}

/** A public key as the note spec's verifier key: "<name>+<hex key id>+base64(type ‖ key)". */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly sigType: number;
  readonly publicKey: Uint8Array;
}

export function formatVerifierKey(name: string, sigType: number, publicKey: Uint8Array): string {
  checkKeyNameOrThrow(name);
  const body = new Uint8Array(1 + publicKey.length);
  body[0] = sigType;
  body.set(publicKey, 1);
  return `${name}+${hex8(noteKeyId(name, sigType, publicKey))}+${encodeBase64(body)}`;
}

/** Splits at the first n-1 "+" signs (the last field may hold "+"). */
function splitPlus(s: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf("+");
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

/** Parses a vkey; the key id must match the name, type and key. */
export function parseVerifierKey(vkey: string): VerifierKey {
  // Key names hold no "+", but base64 may: split at the first two only.
  const parts = typeof vkey === "string" ? splitPlus(vkey, 3) : [];
  if (parts.length !== 3 || !/^[0-9a-f]{8}$/.test(parts[1]))
    throw new NoteFormatError("a verifier key is <name>+<8 hex digits>+<base64>", {
      details: `got ${JSON.stringify(String(vkey).slice(0, 120))}`,
    });
  checkKeyNameOrThrow(parts[0]);
  const body = decodeBase64(parts[2], "verifier key");
  if (body.length < 2) throw new NoteFormatError("verifier key has no key material");
  const sigType = body[0];
  const publicKey = body.slice(1);
  if ((sigType === SIG_TYPE_ED25519 || sigType === SIG_TYPE_COSIGNATURE_V1) && publicKey.length !== 32)
    throw new NoteFormatError("an Ed25519 verifier key holds 32 bytes of key");
  const keyId = parseInt(parts[1], 16) >>> 0;
  if (keyId !== noteKeyId(parts[0], sigType, publicKey))
    throw new NoteFormatError("verifier key id does not match its name and key", { details: vkey });
  return { name: parts[0], keyId, sigType, publicKey };
}

/**
 * A private key file in the note spec's signer-key form "PRIVATE+KEY+<name>+<hex id>+base64(type ‖ seed)"
 * (the form golang.org/x/mod/sumdb/note reads), for type 0x01 (log) or 0x04 (witness).
 */
export interface SignerKey {
  readonly name: string;
  readonly sigType: number;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function formatSignerKey(name: string, sigType: number, seed: Uint8Array): string {
  checkKeyNameOrThrow(name);
  if (seed.length !== 32) throw new NoteFormatError("an Ed25519 private key is a 32-byte seed");
  const pub = ed25519.getPublicKey(seed);
  const body = new Uint8Array(33);
  body[0] = sigType;
  body.set(seed, 1);
  return `PRIVATE+KEY+${name}+${hex8(noteKeyId(name, sigType, pub))}+${encodeBase64(body)}`;
}

export function parseSignerKey(skey: string): SignerKey {
  const parts = typeof skey === "string" ? splitPlus(skey.trim(), 5) : [];
  if (parts.length !== 5 || parts[0] !== "PRIVATE" || parts[1] !== "KEY" || !/^[0-9a-f]{8}$/.test(parts[3]))
    throw new NoteFormatError("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64>");
  checkKeyNameOrThrow(parts[2]);
  const body = decodeBase64(parts[4], "signer key");
  if (body.length !== 33 || (body[0] !== SIG_TYPE_ED25519 && body[0] !== SIG_TYPE_COSIGNATURE_V1))
    throw new NoteFormatError("signer key must be type 0x01 or 0x04 with a 32-byte Ed25519 seed");
  const seed = body.slice(1);
  const publicKey = ed25519.getPublicKey(seed);
  if (parseInt(parts[3], 16) >>> 0 !== noteKeyId(parts[2], body[0], publicKey))
    throw new NoteFormatError("signer key id does not match its name and key");
  return { name: parts[2], sigType: body[0], seed, publicKey };
}
