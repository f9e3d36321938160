import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  anchorCosignatureDigest,
  anchorCosignatureTypedData,
  formatAnchorCosignatureRequest,
  parseAnchorCosignatureRequest,
  type AnchorCosignatureMessage,
} from "../../src/protocol/anchor-cosignature";
import { AnchorCosignatureFormatError } from "../../src/protocol/errors";

interface Vector {
  chainId: number;
  contract: Address;
  headIndex: string;
  previousSize: string;
  newSize: string;
  newRoot: Hex;
  metadataHash: Hex;
  digest: Hex;
  signature: Hex;
}
const doc = JSON.parse(
  fs.readFileSync(path.join(__dirname, "../vectors/anchor-cosignature-v1.json"), "utf8"),
) as { privateKey: Hex; signer: Address; vectors: Vector[] };

const messageOf = (v: Vector): AnchorCosignatureMessage => ({
  chainId: v.chainId,
  contract: v.contract,
  headIndex: BigInt(v.headIndex),
  previousSize: BigInt(v.previousSize),
  newSize: BigInt(v.newSize),
  newRoot: v.newRoot,
  metadataHash: v.metadataHash,
});

describe("protocol: anchor cosignature (EIP-712, shared vectors with CustodyAnchor)", () => {
  it("digests and viem signatures match test/vectors/anchor-cosignature-v1.json, and recover the signer", async () => {
    const account = privateKeyToAccount(doc.privateKey);
    expect(account.address).to.equal(doc.signer);
    expect(doc.vectors).to.have.length(5);
    for (const v of doc.vectors) {
      const m = messageOf(v);
      expect(anchorCosignatureDigest(m)).to.equal(v.digest);
      expect(await account.signTypedData(anchorCosignatureTypedData(m))).to.equal(v.signature);
      expect(
        await recoverTypedDataAddress({ ...anchorCosignatureTypedData(m), signature: v.signature }),
      ).to.equal(doc.signer);
    }
    // Same head, other chain or contract: other digests (no replay across them).
    expect(new Set(doc.vectors.map((v) => v.digest)).size).to.equal(doc.vectors.length);
  });

  it("refuses malformed messages with AnchorCosignatureFormatError naming the field", () => {
    const good = messageOf(doc.vectors[1]!);
    const bad: [Partial<AnchorCosignatureMessage>, RegExp][] = [
      [{ chainId: 0 }, /chainId/],
      [{ contract: "0x1234" as Address }, /contract/],
      [{ headIndex: -1n }, /headIndex/],
      [{ newSize: 2n ** 64n }, /newSize/],
      [{ newSize: good.previousSize }, /newSize must exceed/],
      [{ newRoot: "0x12" }, /newRoot/],
      [{ metadataHash: `0x${"zz".repeat(32)}` }, /metadataHash/],
    ];
    for (const [over, re] of bad) {
      expect(() => anchorCosignatureDigest({ ...good, ...over }))
        .to.throw(AnchorCosignatureFormatError)
        .with.property("message")
        .that.matches(re);
    }
  });

  it("request bodies round-trip; malformed ones are refused", () => {
    const r = {
      oldSize: 3,
      proof: [`0x${"ab".repeat(32)}` as Hex],
      checkpoint: "note\n",
      metadataHash: `0x${"01".repeat(32)}` as Hex,
    };
    expect(parseAnchorCosignatureRequest(formatAnchorCosignatureRequest(r))).to.deep.equal(r);
    for (const body of [
      "not json",
      "[]",
      JSON.stringify({ ...r, oldSize: -1 }),
      JSON.stringify({ ...r, proof: ["0x12"] }),
      JSON.stringify({ ...r, checkpoint: "" }),
      JSON.stringify({ ...r, metadataHash: "0x" }),
    ])
      expect(() => parseAnchorCosignatureRequest(body)).to.throw(AnchorCosignatureFormatError);
  });
});
