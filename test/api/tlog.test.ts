import http from "node:http";
import { expect } from "chai";
import { ed25519 } from "@noble/curves/ed25519";
import { hashLeaf } from "../../src/log/hash";
import { verifyCheckpoint } from "../../src/protocol/checkpoint";
import {
  SIG_TYPE_ED25519,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatVerifierKey,
} from "../../src/protocol/note";
import { decodeEntryBundle } from "../../src/protocol/tlog-tiles";
import { verifyReceiptOffline } from "../../src/verify";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";
import { runTlogcheck, tlogcheckBinary } from "../support/go-interop";

const ORIGIN = "custody.test/log";
const SEED = new Uint8Array(32).fill(0x2a);
const PUB = ed25519.getPublicKey(SEED);
const VKEY = formatVerifierKey(ORIGIN, SIG_TYPE_ED25519, PUB);

async function transfers(s: ApiStack, prefix: string, n: number): Promise<void> {
  const body = {
    transfers: Array.from({ length: n }, (_, i) => ({
      id: `${prefix}-${i}`,
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: "1",
      kind: "transfer",
    })),
  };
  const r = await s.call("POST", "/v1/transfers/batch", { key: s.keys.platform, body });
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
}

async function bytes(s: ApiStack, p: string, key?: string) {
  const res = await fetch(s.url + p, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
}

describe("api: signed checkpoints and the C2SP tlog-tiles API", () => {
  let s: ApiStack;
  const sizes: number[] = [];
  before(async () => {
    s = await startApiStack({ checkpoints: { origin: ORIGIN, signer: ed25519NoteSigner(ORIGIN, SEED) } });
  });
  after(async () => s?.stop());

  it("serves a signed size-0 checkpoint before the first anchor, and no tiles", async () => {
    const r = await s.call("GET", "/tlog/checkpoint");
    expect(r.status).to.equal(200);
    const v = verifyCheckpoint(r.body, { origin: ORIGIN, log: ed25519NoteVerifier(ORIGIN, PUB) });
    expect(v.checkpoint.size).to.equal(0);
    expect(v.checkpoint.rootHash).to.equal(
      "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect((await bytes(s, "/tlog/tile/0/000.p/1")).status).to.equal(404);
  });

  it("signs the newest anchored head: same size and root as on chain, short cache lifetime", async () => {
    await seedLedger(s);
    await s.anchor();
    sizes.push((await s.relayer.anchors.latest())!.treeSize);
    await transfers(s, "a", 300);
    await s.anchor();
    sizes.push((await s.relayer.anchors.latest())!.treeSize);
    await transfers(s, "b", 300);
    await s.anchor();
    const head = (await s.relayer.anchors.latest())!;
    const res = await fetch(`${s.url}/tlog/checkpoint`);
    expect(res.headers.get("content-type")).to.match(/^text\/plain; charset=utf-8/);
    expect(res.headers.get("cache-control")).to.equal("public, max-age=2");
    const v = verifyCheckpoint(await res.text(), { origin: ORIGIN, log: ed25519NoteVerifier(ORIGIN, PUB) });
    expect(v.checkpoint.size).to.equal(head.treeSize);
    expect(v.checkpoint.rootHash).to.equal(head.rootHash.toLowerCase());
    expect(head.treeSize).to.be.greaterThan(512);
  });

  it("issues custody-receipt-v2: the receipt carries the log-signed checkpoint of its own head", async () => {
    const first = sizes[0];
    const r = await s.call("GET", `/v1/receipts/${first - 1}`, { key: s.keys.platform });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.format).to.equal("custody-receipt-v2");
    const v = verifyCheckpoint(r.body.checkpoint, { origin: ORIGIN, log: ed25519NoteVerifier(ORIGIN, PUB) });
    // The head right after the entry, not the newest one.
    expect(v.checkpoint).to.deep.equal({ origin: ORIGIN, size: first, rootHash: r.body.anchor.rootHash });
    const offline = verifyReceiptOffline(r.body);
    expect(offline.ok, offline.reason).to.equal(true);
    expect(offline.checks.map((c) => c.name)).to.include("checkpointAnchor");
  });

  it("serves full and partial hash tiles of height 8 as immutable, and nothing past the checkpoint", async () => {
    const size = (await s.relayer.anchors.latest())!.treeSize;
    const full = await bytes(s, "/tlog/tile/0/000");
    expect(full.status).to.equal(200);
    expect(full.headers.get("content-type")).to.equal("application/octet-stream");
    expect(full.headers.get("cache-control")).to.equal("public, max-age=31536000, immutable");
    expect(full.body.length).to.equal(8192);
    expect(
      Buffer.from(full.body.subarray(32 * 5, 32 * 6)).equals(Buffer.from(await s.logStore.leafHash(5))),
    ).to.equal(true);
    const w = size % 256;
    const part = await bytes(s, `/tlog/tile/0/002.p/${w}`);
    expect(part.status).to.equal(200);
    expect(part.body.length).to.equal(32 * w);
    const l1 = await bytes(s, "/tlog/tile/1/000.p/2");
    expect(l1.status).to.equal(200);
    // The level-1 entry is the root of the first 256 leaves.
    expect(Buffer.from(l1.body.subarray(0, 32)).equals(Buffer.from(await s.logStore.root(256)))).to.equal(
      true,
    );
    for (const p of [
      `/tlog/tile/0/002.p/${w + 1}`,
      "/tlog/tile/0/002",
      "/tlog/tile/1/000",
      "/tlog/tile/0/2",
      "/tlog/tile/0/000.p/256",
      "/tlog/tile/64/000",
    ])
      expect((await bytes(s, p)).status, p).to.equal(404);
  });

  it("serves entry bundles to auditors only; every entry hashes to its level-0 tile hash", async () => {
    expect((await bytes(s, "/tlog/tile/entries/000")).status).to.equal(401);
    expect((await bytes(s, "/tlog/tile/entries/000", s.keys.platform)).status).to.equal(403);
    expect((await bytes(s, "/tlog/tile/entries/000", s.keys.alice)).status).to.equal(403);
    const r = await bytes(s, "/tlog/tile/entries/000", s.keys.auditor);
    expect(r.status).to.equal(200);
    expect(r.headers.get("cache-control")).to.match(/^private/);
    const entries = decodeEntryBundle(r.body);
    expect(entries).to.have.length(256);
    const tile = (await bytes(s, "/tlog/tile/0/000")).body;
    entries.forEach((e, i) =>
      expect(
        Buffer.from(hashLeaf(e)).equals(Buffer.from(tile.subarray(32 * i, 32 * i + 32))),
        `entry ${i}`,
      ).to.equal(true),
    );
  });

  it("refuses a body, an unknown key and an unauthenticated entries path before anything else (found by fuzzing)", async () => {
    const raw = (p: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const u = new URL(s.url);
        const req = http.request(
          { host: u.hostname, port: u.port, path: p, method: "GET", headers },
          (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () =>
              resolve({ status: res.statusCode!, body: text.startsWith("{") ? JSON.parse(text) : text }),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    for (const p of ["/tlog/checkpoint", "/tlog/tile/0/000", "/tlog/tile/entries/000"]) {
      const withBody = await raw(
        p,
        {
          authorization: `Bearer ${s.keys.auditor}`,
          "content-type": "application/json",
          "content-length": "2",
        },
        "{}",
      );
      expect(withBody.status, p).to.equal(400);
      expect(withBody.body.error.code, p).to.equal("INVALID_REQUEST");
      const badKey = await raw(p, { authorization: "Bearer cal_not_a_key_at_all" });
      expect(badKey.status, p).to.equal(401);
      expect(badKey.body.error.code, p).to.equal("UNAUTHENTICATED");
    }
    // Not a tile path at all: still an entries request, so the key is checked first.
    expect((await raw("/tlog/tile/entries/", {})).status).to.equal(401);
    expect((await raw("/tlog/tile/entries/zz", {})).status).to.equal(401);
  });

  it("rate-limits the public tlog routes per address like every other route", async () => {
    const limited = await startApiStack({
      checkpoints: { origin: ORIGIN, signer: ed25519NoteSigner(ORIGIN, SEED) },
      options: { rateLimit: { ratePerSecond: 0.001, burst: 2 } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.call("GET", "/tlog/checkpoint")).status);
      expect(statuses).to.deep.equal([200, 200, 429, 429]);
      const tile = await limited.call("GET", "/tlog/tile/0/000.p/1");
      expect(tile.status).to.equal(429);
      expect(tile.body.error.code).to.equal("RATE_LIMITED");
    } finally {
      await limited.stop();
    }
  });

  it("lists the tlog-tiles routes in the OpenAPI document with their content types, auth and caching", async () => {
    const doc = (await s.call("GET", "/v1/openapi.json")).body;
    const paths = doc.paths as Record<string, Record<string, any>>;
    const tlog = Object.keys(paths).filter((p) => p.startsWith("/tlog/"));
    expect(tlog.sort()).to.deep.equal([
      "/tlog/checkpoint",
      "/tlog/tile/entries/{N}",
      "/tlog/tile/entries/{N}.p/{W}",
      "/tlog/tile/{L}/{N}",
      "/tlog/tile/{L}/{N}.p/{W}",
    ]);
    const cache = (op: any) => op.responses["200"].headers["Cache-Control"].schema.example;
    const checkpoint = paths["/tlog/checkpoint"].get;
    expect(checkpoint.security).to.deep.equal([]);
    expect(Object.keys(checkpoint.responses["200"].content)).to.deep.equal(["text/plain; charset=utf-8"]);
    expect(cache(checkpoint)).to.equal((await bytes(s, "/tlog/checkpoint")).headers.get("cache-control"));
    for (const p of ["/tlog/tile/{L}/{N}", "/tlog/tile/{L}/{N}.p/{W}"]) {
      const op = paths[p].get;
      expect(op.security, p).to.deep.equal([]);
      expect(Object.keys(op.responses["200"].content), p).to.deep.equal(["application/octet-stream"]);
      expect(cache(op), p).to.equal("public, max-age=31536000, immutable");
      expect(Object.keys(op.responses["404"].content), p).to.deep.equal(["text/plain"]);
    }
    for (const p of ["/tlog/tile/entries/{N}", "/tlog/tile/entries/{N}.p/{W}"]) {
      const op = paths[p].get;
      expect(op.security, p).to.deep.equal([{ apiKey: [] }]);
      expect(op.description, p).to.match(/^Roles: auditor\./);
      expect(op.responses, p).to.include.keys("401", "403");
      expect(cache(op), p).to.match(/^private,/);
    }
    const entries = await bytes(s, "/tlog/tile/entries/000.p/1", s.keys.auditor);
    expect(entries.status).to.equal(200);
    expect(entries.headers.get("cache-control")).to.equal(cache(paths["/tlog/tile/entries/{N}"].get));
  });

  it("golang.org/x/mod sumdb/note and sumdb/tlog agree: checkpoint, tiles, roots, inclusion and consistency proofs", async function () {
    const bin = tlogcheckBinary();
    if (!bin) return this.skip();
    const out = await runTlogcheck(bin, [
      "-api",
      s.url,
      "-vkey",
      VKEY,
      "-origin",
      ORIGIN,
      "-auditor-key",
      s.keys.auditor,
      "-sizes",
      [...sizes, 1, 255, 256, 257].join(","),
      "-vectors",
      require.resolve("../vectors/checkpoint-v1.json"),
    ]);
    const size = (await s.relayer.anchors.latest())!.treeSize;
    expect(out).to.include({
      disagreements: 0,
      treeSize: size,
      inclusionProofs: size,
      entries: size,
      consistencyProofs: sizes.length + 4,
      vectorCheckpoints: 2,
    });
    expect(out.apiInclusionProofs).to.be.greaterThan(10);
  });

  it("tlogcheck itself fails on a wrong log key (the interop run can fail)", async function () {
    const bin = tlogcheckBinary();
    if (!bin) return this.skip();
    const other = formatVerifierKey(
      ORIGIN,
      SIG_TYPE_ED25519,
      ed25519.getPublicKey(new Uint8Array(32).fill(1)),
    );
    let failed = false;
    await runTlogcheck(bin, ["-api", s.url, "-vkey", other, "-origin", ORIGIN]).catch(() => (failed = true));
    expect(failed).to.equal(true);
  });
});
