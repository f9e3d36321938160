import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ed25519 } from "@noble/curves/ed25519";
import { cosignatureVerifier, formatCheckpoint } from "../../src/protocol/checkpoint";
import {
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  formatSignerKey,
  formatVerifierKey,
  openNote,
  signNote,
} from "../../src/protocol/note";
import {
  TRUST_POLICY_VERSION,
  loadTrustPolicy,
  verifyPolicyCheckpoint,
} from "../../src/protocol/trust-policy";
import { formatAddCheckpointRequest } from "../../src/protocol/witness-request";
import { toHex } from "../../src/log/hex";
import type { WitnessEndpoint } from "../../src/relayer/cosignatures";
import { openWitness, startWitnessServer, type WitnessServer } from "../../src/witness";
import { seedLedger, startApiStack, type ApiStack } from "../api/support/stack";
import { runCli } from "../../src/cli/main";

const ORIGIN = "custody.test/log";
const LOG_SEED = new Uint8Array(32).fill(0x11);
const logSigner = ed25519NoteSigner(ORIGIN, LOG_SEED);
const W = [
  { name: "bank.test/witness", seed: new Uint8Array(32).fill(0x21) },
  { name: "auditor.test/witness", seed: new Uint8Array(32).fill(0x22) },
  { name: "regulator.test/witness", seed: new Uint8Array(32).fill(0x23) },
];
const vkeyOf = (w: (typeof W)[number]) =>
  formatVerifierKey(w.name, SIG_TYPE_COSIGNATURE_V1, ed25519.getPublicKey(w.seed));
const CLI = path.join(__dirname, "../../src/cli/main.ts");

async function post(url: string, body: string) {
  const res = await fetch(`${url}/add-checkpoint`, { method: "POST", body });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

function startChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on("data", (d) => (err += d));
    child.on("exit", (code) => reject(new Error(`witness exited ${code}: ${err}`)));
  });
}

/** The monitoring path segment of the log: hex SHA-256 of its origin. */
async function originHash(): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ORIGIN))).toString("hex");
}

describe("witness: C2SP tlog-witness with chain checks, relayer collection, durable state", () => {
  let s: ApiStack;
  let dir: string;
  let policyFile: string;
  const servers: WitnessServer[] = [];
  const endpoints: WitnessEndpoint[] = [];
  const children: ChildProcess[] = [];
  const keyFile = (i: number) => path.join(dir, `w${i}.key`);
  const checkpoint = (size: number, rootHash: string, signer = logSigner) =>
    signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: rootHash as `0x${string}` }), [signer]);

  before(async () => {
    s = await startApiStack({ checkpoints: { origin: ORIGIN, signer: logSigner }, witnesses: endpoints });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-witness-"));
    policyFile = path.join(dir, "policy.json");
    fs.writeFileSync(
      policyFile,
      JSON.stringify({
        version: TRUST_POLICY_VERSION,
        name: "test policy",
        chainId: await s.chain.publicClient.getChainId(),
        anchorContract: s.chain.deployment.custodyAnchor,
        log: {
          origin: ORIGIN,
          vkey: formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, ed25519.getPublicKey(LOG_SEED)),
        },
        witnesses: { quorum: 2, vkeys: W.slice(0, 2).map(vkeyOf) },
      }),
    );
    W.forEach((w, i) =>
      fs.writeFileSync(keyFile(i), formatSignerKey(w.name, SIG_TYPE_COSIGNATURE_V1, w.seed) + "\n", {
        mode: 0o600,
      }),
    );
    for (const i of [0, 1]) {
      const witness = await openWitness({
        keyFile: keyFile(i),
        policyFile,
        stateFile: path.join(dir, `w${i}.state.json`),
        publicClient: s.chain.publicClient,
      });
      const server = await startWitnessServer(witness, { origins: [ORIGIN] });
      servers.push(server);
      endpoints.push({ name: W[i].name, url: server.url, vkey: vkeyOf(W[i]) });
    }
  });
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    for (const sv of servers) await sv.close();
    await s?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the relayer collects two cosignatures per anchor; the checkpoint meets the policy's quorum", async () => {
    const policy = loadTrustPolicy(fs.readFileSync(policyFile, "utf8"));
    await seedLedger(s);
    await s.anchor();
    const first = (await s.relayer.anchors.latest())!;
    let v = verifyPolicyCheckpoint(policy, await (await fetch(`${s.url}/tlog/checkpoint`)).text());
    expect(v.checkpoint.size).to.equal(first.treeSize);
    expect(v.witnesses).to.have.members(W.slice(0, 2).map((w) => w.name));
    await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id: "t1", debitAccountId: "alice", creditAccountId: "bob", amount: "5", kind: "transfer" },
    });
    await s.anchor();
    const second = (await s.relayer.anchors.latest())!;
    expect(second.treeSize).to.be.greaterThan(first.treeSize);
    v = verifyPolicyCheckpoint(policy, await (await fetch(`${s.url}/tlog/checkpoint`)).text());
    expect(v.checkpoint).to.deep.include({ size: second.treeSize, rootHash: second.rootHash.toLowerCase() });
    expect(v.witnesses).to.have.length(2);
    // Monitoring endpoint: the witness's latest cosigned checkpoint.
    const mon = await fetch(`${servers[0].url}/${await originHash()}/checkpoint`);
    expect(mon.status).to.equal(200);
    const opened = openNote(await mon.text(), [
      policy.log,
      cosignatureVerifier(W[0].name, ed25519.getPublicKey(W[0].seed)),
    ]);
    expect(opened.verified).to.have.length(2);
  });

  it("the relayer stores no cosignature that does not verify under the witness's configured key", async () => {
    // A witness configured with the regulator's vkey that signs with another key under that name.
    const wrongKey = path.join(dir, "wrong.key");
    const wrongSeed = new Uint8Array(32).fill(0x99);
    fs.writeFileSync(wrongKey, formatSignerKey(W[2].name, SIG_TYPE_COSIGNATURE_V1, wrongSeed) + "\n", {
      mode: 0o600,
    });
    const impostor = await openWitness({
      keyFile: wrongKey,
      policyFile,
      stateFile: path.join(dir, "wrong.state.json"),
      publicClient: s.chain.publicClient,
    });
    const server = await startWitnessServer(impostor, { origins: [ORIGIN] });
    servers.push(server);
    endpoints.push({ name: W[2].name, url: server.url, vkey: vkeyOf(W[2]) });
    try {
      await s.call("POST", "/v1/transfers", {
        key: s.keys.platform,
        body: { id: "t-wk", debitAccountId: "alice", creditAccountId: "bob", amount: "5", kind: "transfer" },
      });
      await s.anchor();
      const head = (await s.relayer.anchors.latest())!;
      // The impostor did answer 200 with a cosignature: it is the key check that drops it.
      const mon = await fetch(`${server.url}/${await originHash()}/checkpoint`);
      expect(mon.status).to.equal(200);
      expect(await mon.text()).to.include(`\u2014 ${W[2].name} `);
      const note = await (await fetch(`${s.url}/tlog/checkpoint`)).text();
      expect(note).to.include(`\n${head.treeSize}\n`);
      expect(note).to.not.include(`\u2014 ${W[2].name} `);
      for (const w of W.slice(0, 2)) expect(note).to.include(`\u2014 ${w.name} `);
    } finally {
      endpoints.pop();
    }
  });

  it("answers per the spec: 409 with the known size, 404, 403, 400, and 422 for forks, bad proofs and heads not on chain", async () => {
    const head = (await s.relayer.anchors.latest())!;
    const url = servers[0].url;
    const good = checkpoint(head.treeSize, head.rootHash.toLowerCase());
    const r409 = await post(url, formatAddCheckpointRequest({ oldSize: 1, proof: [], checkpoint: good }));
    expect(r409).to.deep.equal({ status: 409, type: "text/x.tlog.size", text: `${head.treeSize}\n` });
    const other = ed25519NoteSigner("other.test/log", LOG_SEED);
    const foreign = signNote(
      formatCheckpoint({ origin: "other.test/log", size: 1, rootHash: head.rootHash }),
      [other],
    );
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: foreign }))).status,
    ).to.equal(404);
    const forged = checkpoint(
      head.treeSize,
      head.rootHash,
      ed25519NoteSigner(ORIGIN, new Uint8Array(32).fill(9)),
    );
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: forged })))
        .status,
    ).to.equal(403);
    expect(
      (
        await post(
          url,
          formatAddCheckpointRequest({ oldSize: head.treeSize + 5, proof: [], checkpoint: good }),
        )
      ).status,
    ).to.equal(400);
    expect((await post(url, "old 01\n\n" + good)).status).to.equal(400);
    // Same size, other root: a fork.
    const fork = checkpoint(head.treeSize, toHex(new Uint8Array(32).fill(7)));
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: fork })))
        .status,
    ).to.equal(422);
    // A real, consistent extension of the log that is not anchored on chain.
    await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id: "t2", debitAccountId: "alice", creditAccountId: "bob", amount: "5", kind: "transfer" },
    });
    await s.integrator.integrate(); // a GET never appends: the log's one writer does
    const size = await s.logStore.size();
    expect(size).to.be.greaterThan(head.treeSize);
    const unanchored = checkpoint(size, toHex(await s.logStore.root(size)));
    const proof = await s.logStore.consistencyProof(head.treeSize, size);
    const notOnChain = await post(
      url,
      formatAddCheckpointRequest({ oldSize: head.treeSize, proof, checkpoint: unanchored }),
    );
    expect(notOnChain.status).to.equal(422);
    expect(notOnChain.text).to.match(/not a head anchored on chain/);
    const badProof = proof.map((h, i) => (i === 0 ? new Uint8Array(32) : h));
    expect(
      (
        await post(
          url,
          formatAddCheckpointRequest({ oldSize: head.treeSize, proof: badProof, checkpoint: unanchored }),
        )
      ).status,
    ).to.equal(422);
    // Nothing above moved the witness: it still cosigns the anchored head from its size.
    const again = await post(
      url,
      formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: good }),
    );
    expect(again.status).to.equal(200);
    expect(again.text).to.match(/^— bank\.test\/witness /);
  });

  it("`custody witness` killed with SIGKILL keeps its state; a crash after persisting, before replying, loses nothing", async () => {
    const head = (await s.relayer.anchors.latest())!;
    const rpc = s.chain.node.rpcUrl;
    const state = path.join(dir, "w2.state.json");
    const cli = (st: string) => [
      CLI,
      "witness",
      "--key",
      keyFile(2),
      "--policy",
      policyFile,
      "--rpc",
      rpc,
      "--state",
      st,
    ];
    let { child, url } = await startChild(cli(state));
    children.push(child);
    const good = checkpoint(head.treeSize, head.rootHash.toLowerCase());
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: good }))).status,
    ).to.equal(200);
    child.kill("SIGKILL");
    ({ child, url } = await startChild(cli(state)));
    children.push(child);
    expect(
      await post(url, formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: good })),
    ).to.include({
      status: 409,
      text: `${head.treeSize}\n`,
    });
    const fork = checkpoint(head.treeSize, toHex(new Uint8Array(32).fill(3)));
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: fork })))
        .status,
    ).to.equal(422);
    child.kill("SIGKILL");

    // Crash between the durable write and the reply: the client sees no answer, the state has moved.
    const state2 = path.join(dir, "w2b.state.json");
    const crashing = await startChild([
      path.join(__dirname, "support/crash-child.ts"),
      keyFile(2),
      policyFile,
      state2,
      rpc,
    ]);
    children.push(crashing.child);
    const lost = await post(
      crashing.url,
      formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: good }),
    ).catch((e: Error) => e);
    expect(lost).to.be.instanceOf(Error);
    ({ child, url } = await startChild(cli(state2)));
    children.push(child);
    expect(
      await post(url, formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: good })),
    ).to.include({
      status: 409,
      text: `${head.treeSize}\n`,
    });
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: fork })))
        .status,
    ).to.equal(422);
    expect(
      (await post(url, formatAddCheckpointRequest({ oldSize: head.treeSize, proof: [], checkpoint: good })))
        .status,
    ).to.equal(200);
  });

  it("`custody verify --policy --checkpoint`: valid path passes; a lookalike contract and a short quorum are refused", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const receipt = await s.call("GET", "/v1/receipts/3", { key: s.keys.platform });
    expect(receipt.status).to.equal(200);
    const receiptFile = path.join(dir, "receipt.json");
    fs.writeFileSync(receiptFile, JSON.stringify(receipt.body));
    const cpFile = path.join(dir, "checkpoint.txt");
    const note = await (await fetch(`${s.url}/tlog/checkpoint`)).text();
    fs.writeFileSync(cpFile, note);
    const rpc = s.chain.node.rpcUrl;
    const args = (policy: string, cp: string) => [
      "verify",
      receiptFile,
      "--rpc",
      rpc,
      "--policy",
      policy,
      "--checkpoint",
      cp,
    ];
    expect(receipt.body.format).to.equal("custody-receipt-v2");
    expect(await runCli(args(policyFile, cpFile), io), out.join("\n")).to.equal(0);
    expect(out.join("\n")).to.match(/cosigned by .*bank\.test\/witness/);
    // The receipt's own checkpoint, checked under the policy without --checkpoint.
    expect(out.join("\n")).to.match(/receipt checkpoint: cosigned by .*auditor\.test\/witness.*\(quorum 2\)/);
    out.length = 0;
    const shortReceipt = path.join(dir, "short-receipt.json");
    fs.writeFileSync(
      shortReceipt,
      JSON.stringify({
        ...receipt.body,
        checkpoint: receipt.body.checkpoint
          .split("\n")
          .filter((l: string) => !l.startsWith("\u2014 auditor.test/"))
          .join("\n"),
      }),
    );
    expect(await runCli(["verify", shortReceipt, "--rpc", rpc, "--policy", policyFile], io)).to.equal(1);
    expect(out.join("\n")).to.match(/valid witness cosignatures, the policy needs 2/);
    out.length = 0;

    const lookalike = path.join(dir, "lookalike.json");
    const p = JSON.parse(fs.readFileSync(policyFile, "utf8"));
    fs.writeFileSync(lookalike, JSON.stringify({ ...p, anchorContract: "0x" + "ab".repeat(20) }));
    out.length = 0;
    expect(await runCli(args(lookalike, cpFile), io), out.join("\n")).to.equal(1);

    const short = path.join(dir, "short.txt");
    fs.writeFileSync(
      short,
      note
        .split("\n")
        .filter((l) => !l.startsWith("— auditor.test/"))
        .join("\n"),
    );
    out.length = 0;
    expect(await runCli(args(policyFile, short), io), out.join("\n")).to.equal(1);
    expect(out.join("\n")).to.match(/valid witness cosignatures, the policy needs 2/);

    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, JSON.stringify({ ...p, witnesses: { quorum: 3, vkeys: p.witnesses.vkeys } }));
    expect(await runCli(args(broken, cpFile), io)).to.equal(2);
  });

  it("refuses to start on a key file others can read", async () => {
    const loose = path.join(dir, "loose.key");
    fs.writeFileSync(loose, fs.readFileSync(keyFile(0)), { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    let err: unknown;
    await openWitness({
      keyFile: loose,
      policyFile,
      stateFile: path.join(dir, "x.json"),
      publicClient: s.chain.publicClient,
    }).catch((e) => (err = e));
    expect((err as Error)?.name).to.equal("WitnessStateError");
  });
});
