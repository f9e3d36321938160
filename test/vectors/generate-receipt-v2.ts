/**
 * Writes test/vectors/receipt-v2.json: custody-receipt-v2 receipts built on the v1 fixture
 * (test/protocol/fixtures/receipt-v1.json) with checkpoints signed by the keys of
 * test/vectors/checkpoint-v1.json (fixed seeds), the trust policy that names those keys, and the
 * check each forged receipt must fail under that policy. Ed25519 is deterministic, so a rerun writes
 * the same file. Run: npx tsx test/vectors/generate-receipt-v2.ts
 */
import fs from "node:fs";
import path from "node:path";
import { ed25519 } from "@noble/curves/ed25519";
import { cosignatureSigner, formatCheckpoint } from "../../src/protocol/checkpoint";
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  formatVerifierKey,
  signNote,
} from "../../src/protocol/note";
import { RECEIPT_FORMAT_V2 } from "../../src/protocol/receipt-v2";
import { TRUST_POLICY_VERSION } from "../../src/protocol/trust-policy";

const seed = (b: number) => new Uint8Array(32).fill(b);
const ORIGIN = "custody.example/log";
const log = ed25519NoteSigner(ORIGIN, seed(1));
const w1 = cosignatureSigner("bank.example/witness", seed(2), () => 1_795_000_200);
const w2 = cosignatureSigner("auditor.example/witness", seed(3), () => 1_795_000_201);
const rogue = ed25519NoteSigner(ORIGIN, seed(9));
const v1 = JSON.parse(
  fs.readFileSync(path.join(__dirname, "../protocol/fixtures/receipt-v1.json"), "utf8"),
) as { anchor: { chainId: number; contract: string; treeSize: number; rootHash: `0x${string}` } };

const text = (size = v1.anchor.treeSize, rootHash = v1.anchor.rootHash) =>
  formatCheckpoint({ origin: ORIGIN, size, rootHash });
const v2 = (checkpoint: string, extra: Record<string, unknown> = {}) => ({
  ...v1,
  format: RECEIPT_FORMAT_V2,
  checkpoint,
  ...extra,
});

const policy = {
  version: TRUST_POLICY_VERSION,
  name: "Example custodian bank",
  chainId: v1.anchor.chainId,
  anchorContract: v1.anchor.contract,
  log: { origin: ORIGIN, vkey: formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, ed25519.getPublicKey(seed(1))) },
  witnesses: {
    quorum: 2,
    vkeys: [
      formatVerifierKey(w1.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(seed(2))),
      formatVerifierKey(w2.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(seed(3))),
    ],
  },
};

const out = {
  description:
    "custody-receipt-v2 vectors (docs/receipt-v2.md). `policy` is the trust policy every case is checked under; " +
    "`wantFailedCheck` is the first check that fails (offline and policy checks only), absent when valid.",
  policy,
  cases: [
    { desc: "valid: log-signed, cosigned by both witnesses", receipt: v2(signNote(text(), [log, w1, w2])) },
    {
      desc: "one cosignature, quorum 2",
      receipt: v2(signNote(text(), [log, w1])),
      wantFailedCheck: "witnessQuorum",
    },
    {
      desc: "signed by another log key under the same name",
      receipt: v2(signNote(text(), [rogue, w1, w2])),
      wantFailedCheck: "checkpointSignature",
    },
    {
      desc: "checkpoint of another head",
      receipt: v2(signNote(text(5, `0x${"11".repeat(32)}`), [log, w1, w2])),
      wantFailedCheck: "checkpointAnchor",
    },
    {
      desc: "lookalike contract",
      receipt: v2(signNote(text(), [log, w1, w2]), {
        anchor: { ...v1.anchor, contract: "0x" + "5f".repeat(20) },
      }),
      wantFailedCheck: "trustPolicy",
    },
    {
      desc: "checkpoint is not a signed note",
      receipt: v2(text()),
      wantFailedCheck: "format",
    },
  ],
};
fs.writeFileSync(path.join(__dirname, "receipt-v2.json"), JSON.stringify(out, null, 2) + "\n");
