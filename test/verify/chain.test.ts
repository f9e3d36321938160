import { expect } from "chai";
import { createServer } from "node:net";
import type { Hex } from "viem";
import {
  ChainReadError,
  verifyLeafProof,
  verifyReceipt,
  verifyReceiptOnChain,
  type ReceiptJson,
  type VerificationResult,
} from "../../src/verify";
import { startChainFixture, type ChainFixture } from "./support/chain";
import { makeEntry } from "./support/entries";
import { refInclusionPath, refLeafHash, refRoot } from "../support/rfc9162";
import { encodeLeaf } from "../../src/protocol/leaf-v1";
import { bytesToHex } from "viem";

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("verify/chain: receipts against a real anvil", function () {
  let fx: ChainFixture;
  before(async () => {
    fx = await startChainFixture();
  });
  after(async () => {
    await fx?.stop();
  });

  const pinned = () => ({ rpcUrl: fx.rpcUrl, expectedContract: fx.anchorA });
  const expectRejected = (v: VerificationResult, check: string, reason: RegExp) => {
    expect(v.ok, JSON.stringify(v.checks, null, 1)).to.equal(false);
    expect(v.failedCheck).to.equal(check);
    expect(v.reason).to.match(reason);
  };

  it("accepts valid receipts against every head, with every check passing", async () => {
    for (const [index, anchor] of [
      [2, fx.headsA[0]],
      [4, fx.headsA[0]],
      [2, fx.headsA[1]],
      [10, fx.headsA[1]],
    ] as const) {
      const v = await verifyReceipt(fx.receipt(index, anchor), pinned());
      expect(v.ok, v.reason).to.equal(true);
      expect(v.checks.map((c) => c.name)).to.deep.equal([
        "format",
        "leafIndex",
        "leafHash",
        "inclusionProof",
        "expectedContract",
        "chainId",
        "contractCode",
        "anchoredHead",
        "anchorTransaction",
        "onChainInclusion",
      ]);
      expect(v.anchoredHead).to.include({
        headIndex: anchor.headIndex,
        treeSize: anchor.treeSize,
        rootHash: anchor.rootHash,
        blockNumber: anchor.blockNumber,
        blockTimestamp: anchor.timestamp,
      });
    }
  });

  it("accepts a receipt of another contract when no contract is pinned", async () => {
    const v = await verifyReceipt(fx.receipt(3, fx.headB), { rpcUrl: fx.rpcUrl });
    expect(v.ok, v.reason).to.equal(true);
    expect(v.checks.map((c) => c.name)).to.not.include("expectedContract");
  });

  it("rejects a receipt from another contract when the contract is pinned", async () => {
    const v = await verifyReceipt(fx.receipt(3, fx.headB), pinned());
    expectRejected(
      v,
      "expectedContract",
      new RegExp(`anchored by contract ${fx.anchorB}, not by the expected`),
    );
  });

  it("rejects a changed amount and a changed salt (even though the chain has the original)", async () => {
    for (const mutate of [
      (r: ReceiptJson) => (r.entry.amount = "99999999"),
      (r: ReceiptJson) => (r.entry.salt = `0x${"77".repeat(32)}`),
    ]) {
      const r = clone(fx.receipt(6, fx.headsA[1]));
      mutate(r);
      expectRejected(await verifyReceipt(r, pinned()), "leafHash", /the entry was altered/);
    }
  });

  it("rejects a proof for another head", async () => {
    // Head #0's proof, size and root, but claiming head #1: offline consistent, chain disagrees.
    const r = clone(fx.receipt(2, fx.headsA[0]));
    r.anchor.headIndex = 1;
    const v = await verifyReceipt(r, pinned());
    expectRejected(
      v,
      "anchoredHead",
      /head #1 on chain differs from the receipt: tree size 11 \(receipt: 5\)/,
    );
  });

  it("rejects a wrong chain id (in the receipt, or pinned by the verifier)", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.anchor.chainId = 1;
    expectRejected(
      await verifyReceipt(r, pinned()),
      "chainId",
      /names chain 1, but the RPC serves chain 31337/,
    );
    expectRejected(
      await verifyReceipt(fx.receipt(1, fx.headsA[1]), { ...pinned(), expectedChainId: 5 }),
      "chainId",
      /chain 5 is expected/,
    );
  });

  it("rejects a wrong index", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.leafIndex = 2;
    const v = await verifyReceipt(r, pinned());
    expectRejected(v, "leafIndex", /differs from the entry's sequence 1/);
    expect(v.checks.find((c) => c.name === "onChainInclusion")!.ok).to.equal(false);
  });

  it("rejects a self-consistent receipt for a head that was never anchored (rewritten history)", async () => {
    // A forged log: the same 11 leaves except leaf 6. Offline everything checks out.
    const forgedEntries = fx.tree.entries.map((e, i) => (i === 6 ? makeEntry(6, { amount: 1n }) : e));
    const leafHashes = forgedEntries.map((e) => refLeafHash(encodeLeaf(e)));
    const r = clone(fx.receipt(6, fx.headsA[1]));
    r.entry.amount = "1";
    r.leafHash = bytesToHex(leafHashes[6]);
    r.anchor.rootHash = bytesToHex(refRoot(leafHashes));
    r.inclusionProof = refInclusionPath(6, leafHashes).map((b) => bytesToHex(b));
    const v = await verifyReceipt(r, pinned());
    expect(v.checks.slice(0, 4).every((c) => c.ok)).to.equal(true);
    expectRejected(v, "anchoredHead", /root 0x[0-9a-f]{64} \(receipt: 0x/);
    expect(v.checks.at(-1)).to.include({ name: "onChainInclusion", ok: false });
  });

  it("rejects a head index that was never anchored", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.anchor.headIndex = 7;
    expectRejected(
      await verifyReceipt(r, pinned()),
      "anchoredHead",
      /head #7 was never anchored: the contract holds 2 heads/,
    );
  });

  it("rejects a wrong anchoring time or block", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.anchor.timestamp -= 3600;
    expectRejected(await verifyReceipt(r, pinned()), "anchoredHead", /time \d+ \(receipt: \d+\)/);
  });

  it("rejects a transaction hash that did not anchor the head", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.anchor.txHash = fx.headsA[0].txHash;
    expectRejected(await verifyReceipt(r, pinned()), "anchorTransaction", /did not anchor head #1/);
    r.anchor.txHash = `0x${"12".repeat(32)}`;
    expectRejected(await verifyReceipt(r, pinned()), "anchorTransaction", /is not on the chain/);
  });

  it("rejects an address without code", async () => {
    const r = clone(fx.receipt(1, fx.headsA[1]));
    r.anchor.contract = "0x000000000000000000000000000000000000dead";
    expectRejected(await verifyReceipt(r, { rpcUrl: fx.rpcUrl }), "contractCode", /there is no contract at/);
  });

  it("on-chain only: the contract's own verifier must accept the proof", async () => {
    const r = clone(fx.receipt(8, fx.headsA[1]));
    r.inclusionProof[0] = `0x${"00".repeat(32)}`;
    const v = await verifyReceiptOnChain(r, pinned());
    expectRejected(v, "onChainInclusion", /the contract rejects the inclusion proof of leaf 8 in head #1/);
  });

  it("verifies leaf proofs (no entry) against the chain", async () => {
    const { leafIndex, leafHash, anchor, inclusionProof } = fx.receipt(9, fx.headsA[1]);
    const v = await verifyLeafProof({ leafIndex, leafHash, anchor, inclusionProof }, pinned());
    expect(v.ok, v.reason).to.equal(true);
    const wrong = { leafIndex, leafHash: `0x${"ee".repeat(32)}` as Hex, anchor, inclusionProof };
    expectRejected(
      await verifyLeafProof(wrong, pinned()),
      "inclusionProof",
      /does not lead to the anchored root/,
    );
  });

  it("reaches no verdict (throws ChainReadError) when the RPC cannot be reached", async () => {
    const rpcUrl = `http://127.0.0.1:${await closedPort()}`;
    let err: unknown;
    try {
      await verifyReceipt(fx.receipt(1, fx.headsA[1]), { rpcUrl });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ChainReadError);
    expect((err as ChainReadError).code).to.equal("CHAIN_UNAVAILABLE");
  });
});
