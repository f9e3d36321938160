/**
 * Writes test/vectors/checkpoint-v1.json: signed checkpoints, keys and cosignatures made by our code
 * from fixed seeds, plus the example of the C2SP signed-note spec (c2sp.org/signed-note, "Example").
 * Ed25519 is deterministic, so a rerun writes the same file. Run: npx tsx test/vectors/generate-checkpoint.ts
 */
import fs from "node:fs";
import path from "node:path";
import { cosignatureSigner, formatCheckpoint } from "../../src/protocol/checkpoint";
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  signNote,
} from "../../src/protocol/note";
import { ed25519 } from "@noble/curves/ed25519";

const seed = (b: number) => new Uint8Array(32).fill(b);
const ORIGIN = "custody.example/log";
const logSeed = seed(1);
const w1Seed = seed(2);
const w2Seed = seed(3);
const log = ed25519NoteSigner(ORIGIN, logSeed);
const w1 = cosignatureSigner("bank.example/witness", w1Seed, () => 1_767_225_600);
const w2 = cosignatureSigner("auditor.example/witness", w2Seed, () => 1_767_225_601);

const cps = [
  {
    origin: ORIGIN,
    size: 0,
    rootHash: "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" as const,
  },
  {
    origin: ORIGIN,
    size: 8,
    rootHash: "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" as const,
  },
];

const out = {
  description:
    "C2SP tlog-checkpoint / signed-note / tlog-cosignature v1 vectors (docs/checkpoints.md). Keys from fixed seeds: log 0x01*32, witnesses 0x02*32 and 0x03*32. `specExample` is copied from c2sp.org/signed-note (Example section).",
  keys: {
    log: {
      name: ORIGIN,
      skey: formatSignerKey(ORIGIN, SIG_TYPE_ED25519, logSeed),
      vkey: formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, ed25519.getPublicKey(logSeed)),
    },
    witnesses: [
      {
        name: w1.name,
        skey: formatSignerKey(w1.name, SIG_TYPE_COSIGNATURE_V1, w1Seed),
        vkey: formatVerifierKey(w1.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(w1Seed)),
      },
      {
        name: w2.name,
        skey: formatSignerKey(w2.name, SIG_TYPE_COSIGNATURE_V1, w2Seed),
        vkey: formatVerifierKey(w2.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(w2Seed)),
      },
    ],
  },
  checkpoints: cps.map((c) => ({
    ...c,
    text: formatCheckpoint(c),
    signed: signNote(formatCheckpoint(c), [log]),
    cosigned: signNote(formatCheckpoint(c), [log, w1, w2]),
  })),
  specExample: {
    vkey: "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    note: "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
    text: "This is an example message.\n",
  },
  rejections: [
    { desc: "no blank line", note: `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt9ZgvIeNrZ8Ebxn8=\n` },
    {
      desc: "size with a leading zero",
      text: `${ORIGIN}\n08\nXcnaeacGWamtVZy3Ad7Zoqudgjqt9ZgvIeNrZ8Ebxn8=\n`,
    },
    { desc: "root not 32 bytes", text: `${ORIGIN}\n8\nAAAA\n` },
    { desc: "missing final newline", text: `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt9ZgvIeNrZ8Ebxn8=` },
    { desc: "extension line", text: `${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7Zoqudgjqt9ZgvIeNrZ8Ebxn8=\nextra\n` },
  ],
};
fs.writeFileSync(path.join(__dirname, "checkpoint-v1.json"), JSON.stringify(out, null, 2) + "\n");
