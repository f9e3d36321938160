import { createHash } from "node:crypto";
import { expect } from "chai";
import { encodeAbiParameters } from "viem";
import { EVENT_TYPES, LEAF_V1_ABI, assetToBytes32 } from "../../src/protocol/leaf-v1";
import { readEscrow } from "../../src/chain/actions/read-escrow";
import { readHead } from "../../src/chain/actions/read-head";
import { createApiKey } from "../../src/api/auth/keys";
import { verifyReceiptOffline } from "../../src/verify/receipt";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";
import { refHash, refVerifyConsistency, refVerifyInclusion } from "../support/rfc9162";

/**
 * Leaf bytes rebuilt from a receipt's entry with viem's ABI encoder directly (not the project's
 * encodeLeaf), then hashed per RFC 9162: the receipt must check out for an outsider.
 */
function independentLeafHash(entry: Record<string, any>): string {
  const bytes = encodeAbiParameters(LEAF_V1_ABI, [
    entry.version,
    EVENT_TYPES[entry.eventType as keyof typeof EVENT_TYPES],
    BigInt(entry.sequence),
    BigInt(entry.timestamp),
    entry.salt,
    entry.entryId,
    entry.debitAccount,
    entry.creditAccount,
    assetToBytes32(entry.asset),
    BigInt(entry.amount),
    entry.code,
    entry.reference,
    entry.metadataHash,
  ]);
  const buf = Buffer.from(bytes.slice(2), "hex");
  return (
    "0x" +
    createHash("sha256")
      .update(Buffer.concat([Buffer.from([0]), buf]))
      .digest("hex")
  );
}

function checkReceipt(r: any) {
  expect(r.format).to.equal("custody-receipt-v1");
  // Conforms to docs/receipt-v1.md as the receipt checker reads it.
  expect(verifyReceiptOffline(r).ok, JSON.stringify(verifyReceiptOffline(r))).to.equal(true);
  expect(r.leafIndex).to.equal(r.entry.sequence);
  expect(independentLeafHash(r.entry)).to.equal(r.leafHash);
  expect(
    refVerifyInclusion(
      r.leafIndex,
      r.anchor.treeSize,
      refHash(r.leafHash),
      r.inclusionProof.map(refHash),
      refHash(r.anchor.rootHash),
    ),
  ).to.equal(true);
}

describe("api: ledger writes, receipts and proofs end to end (anvil + relayer)", function () {
  let s: ApiStack;
  before(async () => {
    s = await startApiStack();
    await seedLedger(s);
  });
  after(async () => {
    await s?.stop();
  });

  it("opens accounts idempotently and shows balances to the platform, the auditor and the holder", async () => {
    const again = await s.call("POST", "/v1/accounts", {
      key: s.keys.platform,
      body: { id: "alice", type: "customer", asset: "EUR", scale: 2 },
    });
    expect(again.status).to.equal(201);
    expect(again.body.id).to.equal("alice");
    const conflict = await s.call("POST", "/v1/accounts", {
      key: s.keys.platform,
      body: { id: "alice", type: "customer", asset: "USD", scale: 2 },
    });
    expect(conflict.status).to.equal(409);
    expect(conflict.body.error.code).to.equal("IDEMPOTENCY_CONFLICT");
    for (const key of [s.keys.platform, s.keys.auditor, s.keys.alice]) {
      const b = await s.call("GET", "/v1/accounts/alice/balance", { key });
      expect(b.status).to.equal(200);
      expect(b.body).to.deep.include({ accountId: "alice", asset: "EUR", posted: "100000", pending: "0" });
    }
  });

  it("keeps a holder inside its own accounts: another's account, transfer or receipt is NOT_FOUND", async () => {
    for (const p of [
      "/v1/accounts/bob",
      "/v1/accounts/bob/balance",
      "/v1/transfers/dep-bob",
      "/v1/transfers/dep-bob/receipt",
    ]) {
      const r = await s.call("GET", p, { key: s.keys.alice });
      expect(r.status, p).to.equal(404);
      expect(r.body.error.code).to.equal("NOT_FOUND");
    }
    // Existence is not revealed: an unknown id answers exactly the same.
    const unknown = await s.call("GET", "/v1/transfers/no-such-transfer", { key: s.keys.alice });
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error).to.deep.equal(
      (await s.call("GET", "/v1/transfers/no-such-transfer", { key: s.keys.bob })).body.error,
    );
    const bobsEvent = (await s.ledger.getTransfer("dep-bob")).sequence;
    await s.anchor();
    const r = await s.call("GET", `/v1/receipts/${bobsEvent}`, { key: s.keys.alice });
    expect(r.status).to.equal(404);
    expect(JSON.stringify(r.body)).not.to.contain("salt");
    const bySubject = await s.call("GET", "/v1/receipts/by-subject/transfer/dep-bob", { key: s.keys.alice });
    expect(bySubject.status).to.equal(404);
  });

  it("refuses writes to the auditor and to holders (403) and to anonymous callers (401)", async () => {
    const body = {
      id: "t-x",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: "1",
      kind: "transfer",
    };
    for (const key of [s.keys.auditor, s.keys.alice]) {
      const r = await s.call("POST", "/v1/transfers", { key, body });
      expect(r.status).to.equal(403);
      expect(r.body.error.code).to.equal("FORBIDDEN");
    }
    const anon = await s.call("POST", "/v1/transfers", { body });
    expect(anon.status).to.equal(401);
    expect(anon.body.error.code).to.equal("UNAUTHENTICATED");
    const revoked = await s.call("POST", "/v1/transfers", { key: s.keys.revoked, body });
    expect(revoked.status).to.equal(401);
    expect(await s.ledger.getTransfer("t-x").catch((e) => e.code)).to.equal("UNKNOWN_TRANSFER");
  });

  it("posts a transfer once per id, answers 409 NOT_ANCHORED_YET until anchored, then a receipt both parties can verify", async () => {
    const body = {
      id: "t-1",
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: "2500",
      kind: "transfer",
    };
    const first = await s.call("POST", "/v1/transfers", { key: s.keys.platform, body });
    expect(first.status).to.equal(201);
    const replay = await s.call("POST", "/v1/transfers", { key: s.keys.platform, body });
    expect(replay.status).to.equal(201);
    expect(replay.body).to.deep.equal(first.body);
    const bal = await s.call("GET", "/v1/accounts/alice/balance", { key: s.keys.alice });
    expect(bal.body.posted).to.equal("97500");

    const early = await s.call("GET", "/v1/transfers/t-1/receipt", { key: s.keys.alice });
    expect(early.status).to.equal(409);
    expect(early.body.error.code).to.equal("NOT_ANCHORED_YET");
    expect(early.body.error.leafIndex).to.equal(first.body.sequence);
    expect(early.body.error).to.have.property("lagEntries");

    await s.anchor();
    for (const key of [s.keys.alice, s.keys.bob, s.keys.auditor, s.keys.platform]) {
      const r = await s.call("GET", "/v1/transfers/t-1/receipt", { key });
      expect(r.status).to.equal(200);
      checkReceipt(r.body);
      expect(r.body.entry.amount).to.equal("2500");
      expect(r.body.anchor.chainId).to.equal(s.chain.deployment.chainId);
      expect(r.body.anchor.contract).to.equal(s.chain.deployment.custodyAnchor.toLowerCase());
    }
    const carol = await s.call("GET", "/v1/transfers/t-1/receipt", { key: await keyFor(s, "carol") });
    expect(carol.status).to.equal(404);
  });

  it("a GET never writes: an entry not yet in the log answers 409 with retryAfterSeconds and leaves the log store unchanged", async () => {
    const db = s.db;
    if (db.kind !== "sqlite") throw new Error("the API stack runs on SQLite");
    const logState = () => ({
      head: db.sqlite.prepare("SELECT size FROM log_head").all(),
      tiles: db.sqlite
        .prepare("SELECT count(*) AS n, coalesce(sum(length(hashes)), 0) AS bytes FROM log_tiles")
        .get(),
      keys: db.sqlite.prepare("SELECT count(*) AS n FROM log_leaf_keys").get(),
    });
    const posted = await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: {
        id: "t-unlogged",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: "1",
        kind: "transfer",
      },
    });
    expect(posted.status).to.equal(201);
    const sizeBefore = await s.logStore.size();
    expect(sizeBefore).to.be.at.most(posted.body.sequence);
    const before = logState();

    const receipt = await s.call("GET", "/v1/transfers/t-unlogged/receipt", { key: s.keys.alice });
    expect(receipt.status).to.equal(409);
    expect(receipt.body.error.code).to.equal("NOT_ANCHORED_YET");
    expect(receipt.body.error.leafIndex).to.equal(posted.body.sequence);
    expect(receipt.body.error.retryAfterSeconds).to.be.a("number").greaterThan(0);
    expect(receipt.headers.get("retry-after")).to.equal(String(receipt.body.error.retryAfterSeconds));

    const [ev] = await s.ledger.getEvents(posted.body.sequence, 1);
    const byHash = await s.call(
      "GET",
      `/v1/proofs/by-leaf-hash/0x${Buffer.from(ev!.leafHash).toString("hex")}`,
    );
    expect(byHash.status).to.equal(409);
    expect(byHash.body.error.code).to.equal("NOT_IN_LOG_YET");
    expect(byHash.body.error.retryAfterSeconds).to.be.a("number").greaterThan(0);

    const head = await s.call("GET", "/v1/log/head");
    expect(head.body.treeSize).to.equal(sizeBefore);
    const consistency = await s.call("GET", `/v1/log/consistency?from=1&to=${posted.body.sequence + 1}`);
    expect(consistency.status).to.equal(409);
    expect(consistency.body.error.code).to.equal("NOT_IN_LOG_YET");

    expect(await s.logStore.size()).to.equal(sizeBefore);
    expect(logState()).to.deep.equal(before);

    // The integrator (the one writer) appends it; then the entry is in the log.
    expect(await s.integrator.integrate()).to.be.greaterThan(posted.body.sequence);
    expect((await s.call("GET", "/v1/log/head")).body.treeSize).to.be.greaterThan(posted.body.sequence);
  });

  it("serves the proof alone by leaf hash to anyone, against the covering head or a later one", async () => {
    const receipt = (await s.call("GET", "/v1/transfers/t-1/receipt", { key: s.keys.alice })).body;
    const p = await s.call("GET", `/v1/proofs/by-leaf-hash/${receipt.leafHash}`);
    expect(p.status).to.equal(200);
    expect(p.body).to.deep.equal({
      leafIndex: receipt.leafIndex,
      leafHash: receipt.leafHash,
      anchor: receipt.anchor,
      inclusionProof: receipt.inclusionProof,
    });
    expect(JSON.stringify(p.body)).not.to.contain(receipt.entry.salt.slice(2));
    // Upper-case hex is accepted.
    const upper = await s.call("GET", `/v1/proofs/by-leaf-hash/0x${receipt.leafHash.slice(2).toUpperCase()}`);
    expect(upper.status).to.equal(200);

    await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id: "t-2", debitAccountId: "bob", creditAccountId: "alice", amount: "10", kind: "transfer" },
    });
    await s.anchor();
    const head = (await s.call("GET", "/v1/log/anchors?limit=1")).body.anchors[0];
    expect(head.headIndex).to.be.greaterThan(receipt.anchor.headIndex);
    const later = await s.call(
      "GET",
      `/v1/proofs/by-leaf-hash/${receipt.leafHash}?headIndex=${head.headIndex}`,
    );
    expect(later.status).to.equal(200);
    expect(later.body.anchor.treeSize).to.equal(head.treeSize);
    expect(
      refVerifyInclusion(
        later.body.leafIndex,
        head.treeSize,
        refHash(receipt.leafHash),
        later.body.inclusionProof.map(refHash),
        refHash(head.rootHash),
      ),
    ).to.equal(true);
    const tooEarly = await s.call("GET", `/v1/transfers/t-2/receipt?headIndex=0`, { key: s.keys.auditor });
    expect(tooEarly.status).to.equal(400);
    const none = await s.call("GET", `/v1/proofs/by-leaf-hash/0x${"00".repeat(32)}`);
    expect(none.status).to.equal(404);
  });

  it("proves on chain what it serves: the anchored root equals the contract's head", async () => {
    const receipt = (await s.call("GET", "/v1/transfers/t-1/receipt", { key: s.keys.auditor })).body;
    const onChain = await readHead(
      s.chain.publicClient,
      s.chain.deployment.custodyAnchor,
      receipt.anchor.headIndex,
    );
    expect(onChain.rootHash.toLowerCase()).to.equal(receipt.anchor.rootHash);
    expect(Number(onChain.treeSize)).to.equal(receipt.anchor.treeSize);
  });

  it("serves consistency proofs between anchored sizes that an independent verifier accepts", async () => {
    const anchors = (await s.call("GET", "/v1/log/anchors?limit=100")).body.anchors;
    expect(anchors.length).to.be.greaterThan(1);
    const [newer, older] = [anchors[0], anchors[anchors.length - 1]];
    const c = await s.call("GET", `/v1/log/consistency?from=${older.treeSize}&to=${newer.treeSize}`);
    expect(c.status).to.equal(200);
    expect(c.body.root1).to.equal(older.rootHash);
    expect(c.body.root2).to.equal(newer.rootHash);
    expect(
      refVerifyConsistency(
        older.treeSize,
        newer.treeSize,
        refHash(older.rootHash),
        refHash(newer.rootHash),
        c.body.proof.map(refHash),
      ),
    ).to.equal(true);
    const head = await s.call("GET", "/v1/log/head");
    expect(head.status).to.equal(200);
    expect(head.body.treeSize).to.equal(await s.ledger.eventCount());
    expect(head.body.latestAnchor.headIndex).to.equal(newer.headIndex);
    const bad = await s.call("GET", `/v1/log/consistency?from=5&to=4`);
    expect(bad.status).to.equal(400);
    const beyond = await s.call("GET", `/v1/log/consistency?from=1&to=${head.body.treeSize + 1}`);
    expect(beyond.status).to.equal(400);
  });

  it("submits a batch atomically: one bad transfer posts none", async () => {
    const ok = (id: string) => ({
      id,
      debitAccountId: "alice",
      creditAccountId: "bob",
      amount: "1",
      kind: "transfer",
    });
    const bad = await s.call("POST", "/v1/transfers/batch", {
      key: s.keys.platform,
      body: { transfers: [ok("b-1"), { ...ok("b-2"), amount: "999999999" }] },
    });
    expect(bad.status).to.equal(422);
    expect(bad.body.error.code).to.equal("INSUFFICIENT_FUNDS");
    expect(await s.ledger.getTransfer("b-1").catch((e) => e.code)).to.equal("UNKNOWN_TRANSFER");
    const good = await s.call("POST", "/v1/transfers/batch", {
      key: s.keys.platform,
      body: { transfers: [ok("b-1"), ok("b-2")] },
    });
    expect(good.status).to.equal(201);
    expect(good.body.transfers.map((t: any) => t.id)).to.deep.equal(["b-1", "b-2"]);
  });

  it("freezes, unfreezes and closes accounts; a frozen account cannot be debited", async () => {
    expect(
      (await s.call("POST", "/v1/accounts/carol/freeze", { key: s.keys.platform })).body.status,
    ).to.equal("frozen");
    await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: {
        id: "dep-carol",
        debitAccountId: "bank",
        creditAccountId: "carol",
        amount: "5",
        kind: "deposit",
      },
    });
    const out = await s.call("POST", "/v1/transfers", {
      key: s.keys.platform,
      body: { id: "t-carol", debitAccountId: "carol", creditAccountId: "bob", amount: "1", kind: "transfer" },
    });
    expect(out.status).to.equal(422);
    expect(out.body.error.code).to.equal("ACCOUNT_FROZEN");
    expect(
      (await s.call("POST", "/v1/accounts/carol/unfreeze", { key: s.keys.platform })).body.status,
    ).to.equal("active");
    const close = await s.call("POST", "/v1/accounts/carol/close", { key: s.keys.platform });
    expect(close.status).to.equal(409);
    expect(close.body.error.code).to.equal("ACCOUNT_NOT_EMPTY");
    const unknown = await s.call("POST", "/v1/accounts/nobody/freeze", { key: s.keys.platform });
    expect(unknown.status).to.equal(404);
  });

  it('status routes take no body, query or unknown params: {"x":1} to freeze and {"status":"frozen"} to unfreeze are 400 and change nothing', async () => {
    const status = async () =>
      (await s.call("GET", "/v1/accounts/bob", { key: s.keys.platform })).body.status;
    const events = async () => s.ledger.eventCount();
    expect(await status()).to.equal("active");
    const before = await events();
    const refused = [
      await s.call("POST", "/v1/accounts/bob/freeze", { key: s.keys.platform, body: { x: 1 } }),
      await s.call("POST", "/v1/accounts/bob/close", { key: s.keys.platform, body: { force: true } }),
      await s.call("POST", "/v1/accounts/bob/freeze?force=1", { key: s.keys.platform }),
      await s.call("POST", "/v1/accounts/bob/freeze", { key: s.keys.platform, body: [] }),
      await s.call("POST", "/v1/accounts/bob/freeze", {
        key: s.keys.platform,
        rawBody: "x=1",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    ];
    expect(refused.map((r) => r.status)).to.deep.equal([400, 400, 400, 400, 415]);
    for (const r of refused) expect(r.body.error.code).to.be.a("string");
    expect(refused[0]!.body.error.code).to.equal("INVALID_REQUEST");
    expect(await status()).to.equal("active");
    expect(await events()).to.equal(before);
    // An empty object is "no fields": accepted.
    const ok = await s.call("POST", "/v1/accounts/bob/freeze", { key: s.keys.platform, body: {} });
    expect(ok.status).to.equal(200);
    expect(await status()).to.equal("frozen");
    const frozenEvents = await events();
    const sneaky = await s.call("POST", "/v1/accounts/bob/unfreeze", {
      key: s.keys.platform,
      body: { status: "frozen" },
    });
    expect(sneaky.status).to.equal(400);
    expect(await status()).to.equal("frozen");
    expect(await events()).to.equal(frozenEvents);
    const get = await s.call("GET", "/v1/accounts/bob?x=1", { key: s.keys.platform });
    expect(get.status).to.equal(400);
    expect((await s.call("POST", "/v1/accounts/bob/unfreeze", { key: s.keys.platform })).status).to.equal(
      200,
    );
    expect(await status()).to.equal("active");
  });

  it("opens an escrow: ledger hold with the terms, created on chain by the relayer, visible to both parties only", async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const approvers = ["0x" + "a1".repeat(20), "0x" + "B2".repeat(20)];
    const body = {
      id: "esc-1",
      payer: "alice",
      payee: "bob",
      asset: "EUR",
      amount: "700",
      approvers,
      threshold: 2,
      expiresAt,
      agreementHash: "0x" + "cd".repeat(32),
    };
    const r = await s.call("POST", "/v1/escrows", { key: s.keys.platform, body });
    expect(r.status).to.equal(201);
    expect(r.body).to.deep.include({
      id: "esc-1",
      status: "pending",
      payer: "alice",
      payee: "bob",
      escrowAccount: "escrow-eur",
      amount: "700",
    });
    expect(r.body.terms).to.deep.include({
      threshold: 2,
      expiresAt,
      approvers: approvers.map((a) => a.toLowerCase()),
    });
    expect(r.body.chain.state).to.equal("None");
    const bal = await s.call("GET", "/v1/accounts/alice/balance", { key: s.keys.alice });
    expect(bal.body.pending).to.equal("700");

    await s.anchor(); // the relayer's escrow bridge creates it on chain
    const onChain = await readEscrow(s.chain.publicClient, s.chain.deployment.custodyEscrow, r.body.escrowId);
    expect(onChain.amount).to.equal(700n);
    expect(onChain.threshold).to.equal(2);
    for (const [key, id] of [
      [s.keys.alice, "esc-1"],
      [s.keys.bob, r.body.escrowId],
      [s.keys.auditor, "esc-1"],
    ]) {
      const st = await s.call("GET", `/v1/escrows/${id}`, { key });
      expect(st.status).to.equal(200);
      expect(st.body.chain.state).to.equal("Open");
      expect(st.body.status).to.equal("pending");
    }
    const receipts = await s.call("GET", "/v1/escrows/esc-1/receipts", { key: s.keys.bob });
    expect(receipts.status).to.equal(200);
    expect(receipts.body.receipts).to.have.length(1);
    checkReceipt(receipts.body.receipts[0]);
    expect((await s.call("GET", "/v1/escrows/esc-1", { key: await keyFor(s, "carol") })).status).to.equal(
      404,
    );

    const past = await s.call("POST", "/v1/escrows", {
      key: s.keys.platform,
      body: { ...body, id: "esc-2", expiresAt: 1000 },
    });
    expect(past.status).to.equal(400);
    const wrongAsset = await s.call("POST", "/v1/escrows", {
      key: s.keys.platform,
      body: { ...body, id: "esc-3", asset: "USD" },
    });
    expect(wrongAsset.status).to.equal(400);
    const tooMany = await s.call("POST", "/v1/escrows", {
      key: s.keys.platform,
      body: { ...body, id: "esc-4", threshold: 3 },
    });
    expect(tooMany.status).to.equal(400);
    expect(tooMany.body.error.issues[0].path).to.deep.equal(["threshold"]);
  });

  it("logs one JSON line per request without keys or salts", async () => {
    const receipt = (await s.call("GET", "/v1/transfers/t-1/receipt", { key: s.keys.alice })).body;
    const lines = JSON.stringify(s.logLines);
    expect(s.logLines.length).to.be.greaterThan(10);
    expect(lines).not.to.contain(s.keys.alice);
    expect(lines).not.to.contain(s.keys.platform.slice(20));
    expect(lines).not.to.contain(receipt.entry.salt.slice(2));
    const last = s.logLines.filter((l) => l.msg === "request").at(-1)!;
    expect(last).to.include({
      method: "GET",
      route: "/v1/transfers/{id}/receipt",
      status: 200,
      role: "holder",
    });
  });
  it("logs neither the Authorization header nor a body with key-like fields, accepted or rejected", async () => {
    const secret = "0x" + "5e".repeat(32);
    const before = s.logLines.length;
    const bodies = [
      // Rejected: unknown fields.
      {
        id: "log-1",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: "1",
        kind: "transfer",
        privateKey: secret,
      },
      // Accepted: the secret sits in free-form metadata.
      {
        id: "log-2",
        debitAccountId: "alice",
        creditAccountId: "bob",
        amount: "1",
        kind: "transfer",
        metadata: { apiKey: secret, salt: secret },
      },
    ];
    const statuses = [];
    for (const body of bodies)
      statuses.push((await s.call("POST", "/v1/transfers", { key: s.keys.platform, body })).status);
    expect(statuses).to.deep.equal([400, 201]);
    const lines = s.logLines.slice(before);
    expect(lines.filter((l) => l.msg === "request")).to.have.length(2);
    const text = JSON.stringify(lines);
    expect(text).not.to.contain(secret.slice(2, 20));
    expect(text).not.to.contain(s.keys.platform.slice(12));
    expect(text).not.to.match(/authorization|metadata|privateKey/i);
  });
});

async function keyFor(s: ApiStack, account: string): Promise<string> {
  return (await createApiKey(s.db, { role: "holder", accounts: [account] })).key;
}
