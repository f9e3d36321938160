import { expect } from "chai";
import fc from "fast-check";
import { ed25519 } from "@noble/curves/ed25519";
import vectors from "../vectors/checkpoint-v1.json";
import { decodeBase64, encodeBase64 } from "../../src/protocol/base64";
import {
  addSignatureLines,
  cosignatureSigner,
  cosignatureVerifier,
  formatCheckpoint,
  parseCheckpoint,
  verifyCheckpoint,
} from "../../src/protocol/checkpoint";
import { CosignatureQuorumError, NoteFormatError, NoteSignatureError } from "../../src/protocol/errors";
import {
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  ed25519NoteVerifier,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "../../src/protocol/note";
import { formatAddCheckpointRequest, parseAddCheckpointRequest } from "../../src/protocol/witness-request";

const verifierOf = (vkey: string) => {
  const k = parseVerifierKey(vkey);
  return k.sigType === 1
    ? ed25519NoteVerifier(k.name, k.publicKey)
    : cosignatureVerifier(k.name, k.publicKey);
};

describe("protocol: signed notes and checkpoints (C2SP)", () => {
  const logV = verifierOf(vectors.keys.log.vkey);
  const witV = vectors.keys.witnesses.map((w) => verifierOf(w.vkey));

  it("verifies the signed-note spec's own example (key id, vkey, Ed25519)", () => {
    const v = verifierOf(vectors.specExample.vkey);
    const opened = openNote(vectors.specExample.note, [v]);
    expect(opened.text).to.equal(vectors.specExample.text);
    expect(opened.verified).to.have.length(1);
  });

  it("reproduces the vectors: keys, checkpoint texts, signed and cosigned notes", () => {
    for (const k of [vectors.keys.log, ...vectors.keys.witnesses]) {
      const s = parseSignerKey(k.skey);
      const v = parseVerifierKey(k.vkey);
      expect(s.name).to.equal(k.name);
      expect(Buffer.from(s.publicKey).equals(Buffer.from(v.publicKey))).to.equal(true);
    }
    const log = parseSignerKey(vectors.keys.log.skey);
    const signer = ed25519NoteSigner(log.name, log.seed);
    const w = vectors.keys.witnesses.map((k, i) => {
      const s = parseSignerKey(k.skey);
      return cosignatureSigner(s.name, s.seed, () => 1_767_225_600 + i);
    });
    for (const c of vectors.checkpoints) {
      const cp = { origin: c.origin, size: c.size, rootHash: c.rootHash as `0x${string}` };
      expect(formatCheckpoint(cp)).to.equal(c.text);
      expect(parseCheckpoint(c.text)).to.deep.equal(cp);
      expect(signNote(c.text, [signer])).to.equal(c.signed);
      expect(signNote(c.text, [signer, ...w])).to.equal(c.cosigned);
      const r = verifyCheckpoint(c.cosigned, { origin: c.origin, log: logV, witnesses: witV, quorum: 2 });
      expect(r.checkpoint).to.deep.equal(cp);
      expect(r.witnesses).to.deep.equal(vectors.keys.witnesses.map((k) => k.name));
      expect(r.timestamps).to.deep.equal([1_767_225_600, 1_767_225_601]);
    }
  });

  it("rejects malformed checkpoints and notes with NoteFormatError", () => {
    for (const r of vectors.rejections) {
      if ("note" in r && r.note) expect(() => parseNote(r.note), r.desc).to.throw(NoteFormatError);
      if ("text" in r && r.text) expect(() => parseCheckpoint(r.text), r.desc).to.throw(NoteFormatError);
    }
    expect(() => parseNote("a\n\n— k AAAA\n")).to.throw(NoteFormatError); // 3-byte signature
    expect(() => parseNote("a\u0001\n\n— k AAAAAAA=\n")).to.throw(NoteFormatError);
    expect(() => decodeBase64("AB==")).to.throw(NoteFormatError); // non-zero padding bits
  });

  it("refuses a quorum shortfall, a wrong origin, a missing log signature and a bad known signature", () => {
    const c = vectors.checkpoints[1];
    expect(() =>
      verifyCheckpoint(c.signed, { origin: c.origin, log: logV, witnesses: witV, quorum: 1 }),
    ).to.throw(CosignatureQuorumError);
    expect(() => verifyCheckpoint(c.cosigned, { origin: "other.example/log", log: logV })).to.throw(
      NoteSignatureError,
    );
    const onlyWitness = c.cosigned.replace(/— custody\.example\/log [^\n]+\n/, "");
    expect(() => verifyCheckpoint(onlyWitness, { origin: c.origin, log: logV, witnesses: witV })).to.throw(
      NoteSignatureError,
    );
    // Same note with the size changed: every known signature now fails.
    expect(() =>
      verifyCheckpoint(c.cosigned.replace("\n8\n", "\n9\n"), {
        origin: c.origin,
        log: logV,
        witnesses: witV,
      }),
    ).to.throw(NoteSignatureError);
    // A cosignature by a key that shares the name but not the id is ignored (not an error).
    const stranger = cosignatureSigner(vectors.keys.witnesses[0].name, new Uint8Array(32).fill(9), () => 5);
    const extra = signNote(c.text, [stranger]).split("\n\n")[1];
    const withStranger = c.signed + extra;
    expect(() =>
      verifyCheckpoint(withStranger, { origin: c.origin, log: logV, witnesses: witV, quorum: 1 }),
    ).to.throw(CosignatureQuorumError);
  });

  it("property: any checkpoint signed and cosigned round-trips and verifies; any changed byte of the text fails", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.stringMatching(/^[a-z0-9.]{1,20}\/[a-z0-9]{1,10}$/),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (seed, wseed, origin, size, root, ts) => {
          const rootHash = `0x${Buffer.from(root).toString("hex")}` as const;
          const text = formatCheckpoint({ origin, size, rootHash });
          const log = ed25519NoteSigner(origin, seed);
          const w = cosignatureSigner("w.example/1", wseed, () => ts);
          const note = signNote(text, [log, w]);
          const params = {
            origin,
            log: ed25519NoteVerifier(origin, ed25519.getPublicKey(seed)),
            witnesses: [cosignatureVerifier("w.example/1", ed25519.getPublicKey(wseed))],
            quorum: 1,
          };
          const r = verifyCheckpoint(note, params);
          expect(r.checkpoint).to.deep.equal({ origin, size, rootHash });
          expect(r.timestamps).to.deep.equal([ts]);
          const i = text.length - 3; // inside the base64 root
          const flipped = text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
          expect(() => verifyCheckpoint(note.replace(text, flipped), params)).to.throw();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("property: base64 round-trips any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(Buffer.from(decodeBase64(encodeBase64(b))).equals(Buffer.from(b))).to.equal(true);
        expect(encodeBase64(b)).to.equal(Buffer.from(b).toString("base64"));
      }),
    );
  });

  it("adds witness signature lines once", () => {
    const c = vectors.checkpoints[1];
    const lines = parseNote(c.cosigned).signatures.slice(1);
    const twice = addSignatureLines(addSignatureLines(c.signed, lines), lines);
    expect(twice).to.equal(c.cosigned);
  });

  it("add-checkpoint request bodies round-trip and reject bad old lines", () => {
    const c = vectors.checkpoints[1];
    const proof = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(8)];
    const body = formatAddCheckpointRequest({ oldSize: 4, proof, checkpoint: c.signed });
    const back = parseAddCheckpointRequest(body);
    expect(back.oldSize).to.equal(4);
    expect(back.proof.map((p) => Buffer.from(p).toString("hex"))).to.deep.equal(
      proof.map((p) => Buffer.from(p).toString("hex")),
    );
    expect(back.checkpoint).to.equal(c.signed);
    expect(() => parseAddCheckpointRequest(`old 04\n\n${c.signed}`)).to.throw(NoteFormatError);
    expect(() => parseAddCheckpointRequest(`old 4\nAAAA\n\n${c.signed}`)).to.throw(NoteFormatError);
  });
});

describe("protocol: keys whose base64 holds '+'", () => {
  it("round-trips vkeys and signer keys for many seeds (some encode '+')", () => {
    let plus = 0;
    for (let b = 0; b < 64; b++) {
      const seed = new Uint8Array(32).fill(b);
      const vkey = formatVerifierKey("w.example/x", 4, ed25519.getPublicKey(seed));
      const skey = formatSignerKey("w.example/x", 4, seed);
      if (vkey.split("+").length > 3 || skey.split("+").length > 5) plus++;
      expect(parseVerifierKey(vkey).name).to.equal("w.example/x");
      expect(Buffer.from(parseSignerKey(skey).seed).equals(Buffer.from(seed))).to.equal(true);
    }
    expect(plus).to.be.greaterThan(0);
  });
});
