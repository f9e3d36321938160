import { expect } from "chai";
import { ed25519 } from "@noble/curves/ed25519";
import { recoverTypedDataAddress, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatCheckpoint } from "../../src/protocol/checkpoint";
import { SIG_TYPE_ED25519, ed25519NoteSigner, formatVerifierKey, signNote } from "../../src/protocol/note";
import { TRUST_POLICY_VERSION, loadTrustPolicy } from "../../src/protocol/trust-policy";
import {
  anchorCosignatureDigest,
  anchorCosignatureMessageOf,
  anchorCosignatureTypedData,
  formatAnchorCosignatureRequest,
  type AnchorCosignatureResponse,
} from "../../src/protocol/anchor-cosignature";
import {
  Witness,
  WitnessStateFile,
  loadAnchorKey,
  startWitnessServer,
  type WitnessServer,
} from "../../src/witness";
import { requestAnchorCosignature } from "../../src/relayer/anchor-cosigner";
import { RelayerCosignatureError } from "../../src/relayer/errors";
import { ReferenceTree } from "../contracts/support/reference-tree";

const ORIGIN = "custody.test/log";
const LOG_SEED = new Uint8Array(32).fill(0x31);
const logSigner = ed25519NoteSigner(ORIGIN, LOG_SEED);
const otherSigner = ed25519NoteSigner(ORIGIN, new Uint8Array(32).fill(0x32));
const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const CHAIN_ID = 31337;
const anchorAccount = privateKeyToAccount(`0x${"42".repeat(32)}`);
const tree = ReferenceTree.random(40, 5);
const META = `0x${"01".repeat(32)}` as Hex;

describe("witness: anchor cosignatures (POST /anchor-cosignature) and the relayer's checks of them", () => {
  let dir: string;
  let server: WitnessServer;
  let bare: WitnessServer;
  // The chain as the witness sees it (a fake: the stack test uses a real anvil).
  let chainHead: { headIndex: number; treeSize: number; rootHash: Hex } | undefined;
  let chainCosigner: Address = anchorAccount.address;

  const note = (size: number, signer = logSigner) =>
    signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(size) as Hex }), [signer]);
  const ask = async (body: unknown, url = server.url) => {
    const res = await fetch(`${url}/anchor-cosignature`, {
      method: "POST",
      body: typeof body === "string" ? body : formatAnchorCosignatureRequest(body as never),
    });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-anchor-cosig-"));
    const policy = loadTrustPolicy(
      JSON.stringify({
        version: TRUST_POLICY_VERSION,
        name: "test policy",
        chainId: CHAIN_ID,
        anchorContract: CONTRACT,
        log: {
          origin: ORIGIN,
          vkey: formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, ed25519.getPublicKey(LOG_SEED)),
        },
        witnesses: { quorum: 0, vkeys: [] },
      }),
    );
    const common = {
      key: { name: "bank.test/witness", seed: new Uint8Array(32).fill(0x33) },
      policy,
      anchoredHead: async () => undefined,
    };
    const witness = new Witness({
      ...common,
      state: new WitnessStateFile(path.join(dir, "w.state.json")),
      anchor: {
        account: anchorAccount,
        chain: { latestHead: async () => chainHead, cosigner: async () => chainCosigner },
      },
    });
    server = await startWitnessServer(witness, { origins: [ORIGIN] });
    const without = new Witness({ ...common, state: new WitnessStateFile(path.join(dir, "w2.state.json")) });
    bare = await startWitnessServer(without, { origins: [ORIGIN] });
  });
  after(async () => {
    await server?.close();
    await bare?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("signs the next head after the chain's latest, in the contract's EIP-712 domain", async () => {
    chainHead = undefined;
    let r = await ask({ oldSize: 0, proof: [], checkpoint: note(5), metadataHash: META });
    expect(r.status, r.text).to.equal(200);
    let body = JSON.parse(r.text) as AnchorCosignatureResponse;
    expect(body).to.include({ headIndex: "0", previousSize: "0", newSize: "5", chainId: CHAIN_ID });
    chainHead = { headIndex: 3, treeSize: 5, rootHash: tree.root(5) as Hex };
    r = await ask({
      oldSize: 5,
      proof: tree.consistencyProof(5, 12),
      checkpoint: note(12),
      metadataHash: META,
    });
    expect(r.status, r.text).to.equal(200);
    body = JSON.parse(r.text) as AnchorCosignatureResponse;
    const m = anchorCosignatureMessageOf(body);
    expect(m).to.deep.equal({
      chainId: CHAIN_ID,
      contract: CONTRACT,
      headIndex: 4n,
      previousSize: 5n,
      newSize: 12n,
      newRoot: tree.root(12),
      metadataHash: META,
    });
    expect(body.signer).to.equal(anchorAccount.address);
    expect(
      await recoverTypedDataAddress({ ...anchorCosignatureTypedData(m), signature: body.signature }),
    ).to.equal(anchorAccount.address);
    expect(anchorCosignatureDigest(m)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("refuses: no anchor key 404, bad body 400, not the log's key 403, foreign contract 422, stale size 409, bad proofs 422", async () => {
    chainHead = { headIndex: 3, treeSize: 5, rootHash: tree.root(5) as Hex };
    const good = {
      oldSize: 5,
      proof: tree.consistencyProof(5, 12),
      checkpoint: note(12),
      metadataHash: META,
    };
    expect((await ask(good, bare.url)).status).to.equal(404);
    expect((await ask("{")).status).to.equal(400);
    expect((await ask({ ...good, checkpoint: note(12, otherSigner) })).status).to.equal(403);
    chainCosigner = zeroAddress;
    expect((await ask(good)).status).to.equal(422);
    chainCosigner = anchorAccount.address;
    const stale = await ask({ ...good, oldSize: 3, proof: tree.consistencyProof(3, 12) });
    expect(stale).to.deep.equal({ status: 409, text: "5\n" });
    expect((await ask({ ...good, checkpoint: note(5), proof: [] })).status).to.equal(422);
    expect((await ask({ ...good, proof: tree.consistencyProof(4, 12) })).status).to.equal(422);
    // A fork: a root the chain's head does not lead to.
    chainHead = { headIndex: 3, treeSize: 5, rootHash: tree.root(6) as Hex };
    expect((await ask(good)).status).to.equal(422);
  });

  it("the relayer accepts only a cosignature of exactly its head by the contract's cosigner", async () => {
    chainHead = { headIndex: 3, treeSize: 5, rootHash: tree.root(5) as Hex };
    const head = {
      chainId: CHAIN_ID,
      contract: CONTRACT,
      cosigner: anchorAccount.address,
      headIndex: 4,
      previousSize: 5,
      treeSize: 12,
      rootHash: tree.root(12) as Hex,
      proof: tree.consistencyProof(5, 12) as Hex[],
      metadataHash: META,
    };
    const o = { url: server.url, signer: logSigner, origin: ORIGIN };
    const sig = await requestAnchorCosignature(o, head);
    expect(sig).to.match(/^0x[0-9a-f]{130}$/);
    // The relayer thinks the head goes at another index: the witness signs the chain's, the relayer refuses.
    await expectCosignatureError(requestAnchorCosignature(o, { ...head, headIndex: 5 }), /another headIndex/);
    // A contract whose cosigner is another key.
    await expectCosignatureError(
      requestAnchorCosignature(o, { ...head, cosigner: privateKeyToAccount(`0x${"43".repeat(32)}`).address }),
      /not by the contract's cosigner/,
    );
    // The witness refuses (409): nothing to send.
    await expectCosignatureError(requestAnchorCosignature(o, { ...head, previousSize: 3 }), /refused/);
  });

  it("the anchor key file must be 0600 and hold one hex key", () => {
    const f = path.join(dir, "anchor.key");
    fs.writeFileSync(f, `0x${"42".repeat(32)}\n`, { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    expect(() => loadAnchorKey(f)).to.throw(/readable by others/);
    fs.chmodSync(f, 0o600);
    expect(loadAnchorKey(f).address).to.equal(anchorAccount.address);
    fs.writeFileSync(f, "not a key\n");
    let message = "";
    try {
      loadAnchorKey(f);
    } catch (e) {
      message = String(e);
    }
    expect(message).to.match(/must hold 0x and 64 hex digits/);
    expect(message).to.not.include("not a key");
  });
});

async function expectCosignatureError(p: Promise<unknown>, re: RegExp) {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).to.be.instanceOf(RelayerCosignatureError);
  expect(String((err as Error).message)).to.match(re);
}
