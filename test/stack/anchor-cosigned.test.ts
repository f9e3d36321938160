import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BaseError, ContractFunctionRevertedError, decodeFunctionData, type Address, type Hex } from "viem";
import { silentLogger } from "../../src/logging";
import { resolveConfig, ConfigError } from "../../src/stack/config";
import { startStack, type RunningStack } from "../../src/stack/stack";
import { startDemo } from "../../src/stack/demo";
import { devAccounts } from "../../src/chain/dev";
import { createChainClients } from "../../src/chain/clients";
import { custodyAnchorAbi } from "../../src/chain/generated/abi";
import { anchorCosignatureTypedData } from "../../src/protocol/anchor-cosignature";
import { loadAnchorKey } from "../../src/witness";
import { verifyReceipt } from "../../src/verify/chain";

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, tries = 240): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The custom error a simulated call reverts with: its name and arguments. */
async function revertOf(call: Promise<unknown>): Promise<{ name?: string; args?: readonly unknown[] }> {
  try {
    await call;
  } catch (e) {
    const r = e instanceof BaseError ? e.walk((c) => c instanceof ContractFunctionRevertedError) : null;
    if (r instanceof ContractFunctionRevertedError) return { name: r.data?.errorName, args: r.data?.args };
    throw e;
  }
  throw new Error("the call did not revert");
}

describe("stack: anchors cosigned by the bank witness (--anchor-cosigned)", function () {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "custody-cosigned-"));
  const dataDir = path.join(parent, "data");
  let s: RunningStack | undefined;

  after(async () => {
    await s?.stop();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it("is opt-in, embedded chain only", () => {
    expect(resolveConfig({}, {}).anchorCosigned).to.equal(false);
    expect(() => resolveConfig({ anchorCosigned: true, rpcUrl: "http://127.0.0.1:1" }, {})).to.throw(
      ConfigError,
      /anchorCosigned needs the local chain/,
    );
    expect(() => resolveConfig({ anchorCosigner: "not a url" }, {})).to.throw(ConfigError, /anchorCosigner/);
  });

  it("deploys with the witness's key as cosigner, anchors through it, and refuses the anchorer key alone", async () => {
    s = await startStack(
      resolveConfig(
        {
          dataDir,
          apiPort: 0,
          chainPort: 0,
          blockTime: 0,
          anchorIntervalMs: 200,
          anchorBatchSize: 1000,
          anchorCosigned: true,
        },
        {},
      ),
      { logger: silentLogger },
    );
    const keyFile = path.join(dataDir, "witnesses", "bank.anchor.key");
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    const custodianKey = loadAnchorKey(keyFile);
    const contract = s.deployment.custodyAnchor as Address;
    const { publicClient } = createChainClients({ rpcUrl: s.rpcUrl, chainId: s.chainId });
    const read = (functionName: "cosigner" | "headCount" | "VERSION") =>
      publicClient.readContract({ address: contract, abi: custodyAnchorAbi, functionName });
    expect(await read("cosigner")).to.equal(custodianKey.address);
    expect(await read("VERSION")).to.equal("1.2.0");

    // The relayer anchors through the witness: every head on chain came in by anchorCosigned.
    const demo = startDemo(s, { tickMs: 20, say: () => {} });
    await waitFor("a few demo transfers", async () =>
      (await s!.ledger.eventCount()) >= 15 ? true : undefined,
    );
    await demo.stop();
    const count = await s.ledger.eventCount();
    const head = await waitFor("an anchor covering every entry", async () => {
      const a = await s!.relayer.anchors.latest();
      return a && a.treeSize >= count ? a : undefined;
    });
    const tx = await publicClient.getTransaction({ hash: head.txHash });
    expect(decodeFunctionData({ abi: custodyAnchorAbi, data: tx.input }).functionName).to.equal(
      "anchorCosigned",
    );
    expect(Number(await read("headCount"))).to.equal(head.headIndex + 1);
    const recent = await s.ledger.getEvents(Math.max(0, count - 20), 20);
    const last = recent.filter((e) => e.entry.eventType === "TRANSFER_POSTED").at(-1)!;
    const res = await fetch(`${s.apiUrl}/v1/receipts/${last.sequence}`, {
      headers: { authorization: `Bearer ${s.apiKeys.platform}` },
    });
    const verdict = await verifyReceipt(await res.json(), { rpcUrl: s.rpcUrl, expectedContract: contract });
    expect(verdict.ok, verdict.reason).to.equal(true);

    // The anchorer's key (ANCHORER_ROLE) alone: plain anchor is refused, and so is a cosignature
    // made with the anchorer's own key, for a head that would otherwise be accepted.
    const anchorer = devAccounts().relayer;
    const size = BigInt(head.treeSize + 1);
    const root = `0x${"ab".repeat(32)}` as Hex;
    const meta = `0x${"00".repeat(32)}` as Hex;
    const plain = await revertOf(
      publicClient.simulateContract({
        account: anchorer,
        address: contract,
        abi: custodyAnchorAbi,
        functionName: "anchor",
        args: [size, root, [], meta],
      }),
    );
    expect(plain).to.deep.equal({ name: "CustodyAnchorCosignatureRequired", args: [custodianKey.address] });
    const forged = await anchorer.signTypedData(
      anchorCosignatureTypedData({
        chainId: s.chainId,
        contract,
        headIndex: BigInt(head.headIndex + 1),
        previousSize: BigInt(head.treeSize),
        newSize: size,
        newRoot: root,
        metadataHash: meta,
      }),
    );
    const selfSigned = await revertOf(
      publicClient.simulateContract({
        account: anchorer,
        address: contract,
        abi: custodyAnchorAbi,
        functionName: "anchorCosigned",
        args: [size, root, [], meta, forged],
      }),
    );
    expect(selfSigned).to.deep.equal({
      name: "CustodyAnchorWrongCosigner",
      args: [anchorer.address, custodianKey.address],
    });
    expect(Number(await read("headCount"))).to.equal(head.headIndex + 1);
    expect(s.relayer.status().alarm).to.equal(undefined);
  });
});
