import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, encryptKeystoreJson } from "ethers";
import { createHash } from "node:crypto";
import { type Hex } from "viem";
import {
  DeploymentFileError,
  KeyUnavailableError,
  ROLE_IDS,
  createChainClients,
  custodyAnchorAbi,
  deployCustodyContracts,
  devAccount,
  loadSigner,
  readDeployment,
  findEscrow,
  readEscrow,
  readHead,
  readHeadCount,
  readHeadCovering,
  readLatestHead,
  revertErrorName,
  startAnvil,
  verifyConsistencyOnChain,
  verifyInclusionOnChain,
  writeDeployment,
  type AnvilNode,
  type Deployment,
} from "../../src/chain";
import { custodyEscrowAbi } from "../../src/chain/generated/abi";

const sha = (b: Buffer) => createHash("sha256").update(b).digest();
const hex = (b: Buffer): Hex => `0x${b.toString("hex")}`;
const leaf = (i: number) => sha(Buffer.concat([Buffer.from([0]), Buffer.from(`leaf ${i}`)]));
const node = (l: Buffer, r: Buffer) => sha(Buffer.concat([Buffer.from([1]), l, r]));

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "custody-chain-"));
}

describe("chain: deployment on a real anvil node", function () {
  let anvil: AnvilNode;
  let deployment: Deployment;
  const [deployer, admin, anchorer, auditor, pauser, platform, custodian] = [0, 1, 2, 3, 4, 5, 6].map((i) =>
    devAccount(i),
  );

  before(async function () {
    anvil = await startAnvil({});
    const { publicClient, walletClient } = createChainClients({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      account: deployer,
    });
    deployment = await deployCustodyContracts({
      walletClient: walletClient!,
      publicClient,
      admin: admin.address,
      anchorers: [anchorer.address],
      auditors: [auditor.address],
      pausers: [pauser.address],
      platforms: [platform.address],
      custodians: [custodian.address],
      custodianThresholds: [
        { asset: `0x${Buffer.from("EUR").toString("hex").padEnd(64, "0")}`, amount: 1000n },
      ],
      adminTransferDelay: 3600,
    });
  });

  after(async function () {
    await anvil?.stop();
  });

  it("binds 127.0.0.1 on a free port and reports the chain id", function () {
    expect(anvil.rpcUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(deployment.chainId).to.equal(31337);
    expect(deployment.deploymentBlock).to.be.greaterThan(0);
  });

  it("grants every configured role and hands the admin role over in two steps with a delay", async function () {
    const { publicClient } = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId });
    const has = (address: Hex, abi: typeof custodyAnchorAbi | typeof custodyEscrowAbi, role: Hex, who: Hex) =>
      publicClient.readContract({
        address,
        abi,
        functionName: "hasRole",
        args: [role, who],
      }) as Promise<boolean>;
    const a = deployment.custodyAnchor;
    const e = deployment.custodyEscrow;
    const s = deployment.custodySolvency!;
    expect(await has(a, custodyAnchorAbi, ROLE_IDS.ANCHORER_ROLE, anchorer.address)).to.equal(true);
    expect(await has(a, custodyAnchorAbi, ROLE_IDS.AUDITOR_ROLE, auditor.address)).to.equal(true);
    expect(await has(a, custodyAnchorAbi, ROLE_IDS.PAUSER_ROLE, pauser.address)).to.equal(true);
    expect(await has(e, custodyEscrowAbi, ROLE_IDS.PLATFORM_ROLE, platform.address)).to.equal(true);
    expect(await has(e, custodyEscrowAbi, ROLE_IDS.CUSTODIAN_ROLE, custodian.address)).to.equal(true);
    expect(await has(e, custodyEscrowAbi, ROLE_IDS.PAUSER_ROLE, pauser.address)).to.equal(true);
    // hasRole and the admin rules are the same functions on every contract (OpenZeppelin's).
    expect(await has(s, custodyAnchorAbi, ROLE_IDS.PLATFORM_ROLE, platform.address)).to.equal(true);
    expect(await has(s, custodyAnchorAbi, ROLE_IDS.CUSTODIAN_ROLE, custodian.address)).to.equal(true);
    // Step one only: the deployer keeps the role until the admin accepts, after the delay.
    const adminClients = createChainClients({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, account: admin });
    for (const address of [a, e, s]) {
      const abi = address === e ? custodyEscrowAbi : custodyAnchorAbi;
      expect(await has(address, abi, ROLE_IDS.DEFAULT_ADMIN_ROLE, admin.address)).to.equal(false);
      expect(await has(address, abi, ROLE_IDS.DEFAULT_ADMIN_ROLE, deployer.address)).to.equal(true);
      expect(await has(address, abi, ROLE_IDS.ANCHORER_ROLE, deployer.address)).to.equal(false);
      const [pending] = (await publicClient.readContract({
        address,
        abi: custodyAnchorAbi,
        functionName: "pendingDefaultAdmin",
      })) as readonly [Hex, number];
      expect(pending).to.equal(admin.address);
      const early = await adminClients
        .walletClient!.writeContract({
          address,
          abi: custodyAnchorAbi,
          functionName: "acceptDefaultAdminTransfer",
        })
        .then(
          () => undefined,
          (x: unknown) => x,
        );
      expect(revertErrorName(early), "accepting before the delay reverts").to.equal(
        "AccessControlEnforcedDefaultAdminDelay",
      );
    }
    await publicClient.request({ method: "evm_increaseTime" as never, params: [3601] as never });
    await publicClient.request({ method: "evm_mine" as never, params: [] as never });
    for (const address of [a, e, s]) {
      const abi = address === e ? custodyEscrowAbi : custodyAnchorAbi;
      const hash = await adminClients.walletClient!.writeContract({
        address,
        abi: custodyAnchorAbi,
        functionName: "acceptDefaultAdminTransfer",
      });
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
      expect(await has(address, abi, ROLE_IDS.DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await has(address, abi, ROLE_IDS.DEFAULT_ADMIN_ROLE, deployer.address)).to.equal(false);
    }
    const threshold = await publicClient.readContract({
      address: e,
      abi: custodyEscrowAbi,
      functionName: "custodianThreshold",
      args: [`0x${Buffer.from("EUR").toString("hex").padEnd(64, "0")}`],
    });
    expect(threshold).to.equal(1000n);
  });

  it("anchors heads and reads them back with the typed helpers", async function () {
    const { publicClient, walletClient } = createChainClients({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      account: anchorer,
    });
    const address = deployment.custodyAnchor;
    expect(await readHeadCount(publicClient, address)).to.equal(0);
    expect(await readLatestHead(publicClient, address)).to.equal(undefined);
    const [l0, l1, l2] = [leaf(0), leaf(1), leaf(2)];
    const root2 = node(l0, l1);
    const root3 = node(root2, l2);
    const send = async (size: number, root: Buffer, proof: Hex[]) => {
      const hash = await walletClient!.writeContract({
        address,
        abi: custodyAnchorAbi,
        functionName: "anchor",
        args: [BigInt(size), hex(root), proof, `0x${"ab".repeat(32)}`],
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).to.equal("success");
      return receipt;
    };
    const r = await send(2, root2, []);
    await send(3, root3, [hex(l2)]);
    expect(await readHeadCount(publicClient, address)).to.equal(2);
    const head0 = await readHead(publicClient, address, 0);
    expect(head0).to.include({
      headIndex: 0,
      rootHash: hex(root2),
      treeSize: 2,
      blockNumber: Number(r.blockNumber),
    });
    expect(head0.blockTimestamp).to.be.greaterThan(0);
    expect(await readLatestHead(publicClient, address)).to.include({
      headIndex: 1,
      treeSize: 3,
      rootHash: hex(root3),
    });
    expect(await readHeadCovering(publicClient, address, 1)).to.equal(0);
    expect(await readHeadCovering(publicClient, address, 2)).to.equal(1);
    expect(await readHeadCovering(publicClient, address, 3)).to.equal(undefined);
    expect(
      await verifyInclusionOnChain(publicClient, address, {
        headIndex: 1,
        leafIndex: 2,
        leafHash: hex(l2),
        proof: [hex(root2)],
      }),
    ).to.equal(true);
    expect(
      await verifyInclusionOnChain(publicClient, address, {
        headIndex: 1,
        leafIndex: 1,
        leafHash: hex(l2),
        proof: [hex(root2)],
      }),
    ).to.equal(false);
    expect(
      await verifyConsistencyOnChain(publicClient, address, {
        fromHeadIndex: 0,
        toHeadIndex: 1,
        proof: [hex(l2)],
      }),
    ).to.equal(true);
  });

  it("creates an escrow and reads it back", async function () {
    const { publicClient, walletClient } = createChainClients({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      account: platform,
    });
    const escrowId: Hex = `0x${"11".repeat(32)}`;
    const block = await publicClient.getBlock();
    const hash = await walletClient!.writeContract({
      address: deployment.custodyEscrow,
      abi: custodyEscrowAbi,
      functionName: "createEscrow",
      args: [
        escrowId,
        {
          payer: `0x${"01".repeat(32)}`,
          payee: `0x${"02".repeat(32)}`,
          asset: `0x${Buffer.from("EUR").toString("hex").padEnd(64, "0")}`,
          amount: 5000n,
          approvers: [admin.address, custodian.address],
          payerSideMask: 1,
          threshold: 1,
          autoReleaseAt: 0n,
          expiresAt: block.timestamp + 3600n,
          agreementHash: `0x${"03".repeat(32)}`,
        },
      ],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    const e = await readEscrow(publicClient, deployment.custodyEscrow, escrowId);
    expect(e).to.include({
      state: "Open",
      amount: 5000n,
      threshold: 1,
      custodianApprovalRequired: true,
      approvalCount: 0,
    });
    expect(e.approvers).to.deep.equal([admin.address, custodian.address]);
    expect((await findEscrow(publicClient, deployment.custodyEscrow, escrowId))?.amount).to.equal(5000n);
    // An unknown id is "no escrow", not a failure; any other failure still throws.
    const unknown: Hex = `0x${"99".repeat(32)}`;
    expect(await findEscrow(publicClient, deployment.custodyEscrow, unknown)).to.equal(undefined);
    const err = await readEscrow(publicClient, deployment.custodyEscrow, unknown).catch((x: unknown) => x);
    expect(revertErrorName(err)).to.equal("CustodyEscrowNotFound");
    let threw: unknown;
    try {
      await findEscrow(publicClient, deployment.custodyAnchor, escrowId);
    } catch (x) {
      threw = x;
    }
    expect(threw, "reading an escrow from a contract that is not CustodyEscrow").to.not.equal(undefined);
  });

  it("writes and reads the deployment file atomically and rejects a bad one", function () {
    const dir = tmpDir();
    const file = path.join(dir, "nested", "deployment.json");
    writeDeployment(file, deployment);
    expect(readDeployment(file)).to.deep.equal(deployment);
    expect(fs.readdirSync(path.dirname(file))).to.deep.equal(["deployment.json"]);
    fs.writeFileSync(file, JSON.stringify({ ...deployment, version: "custody-deployment-v0" }));
    expect(() => readDeployment(file)).to.throw(DeploymentFileError, /custody-deployment-v1/);
    fs.writeFileSync(file, JSON.stringify({ ...deployment, custodyAnchor: "0x1234" }));
    expect(() => readDeployment(file)).to.throw(DeploymentFileError);
    expect(() => readDeployment(path.join(dir, "missing.json"))).to.throw(DeploymentFileError);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("chain: anvil state persists across a restart", function () {
  it("restores deployed contracts and anchored heads from the state file", async function () {
    const dir = tmpDir();
    const statePath = path.join(dir, "chain-state.json");
    const deployer = devAccount(0);
    let node = await startAnvil({ statePath });
    let deployment: Deployment;
    try {
      const { publicClient, walletClient } = createChainClients({
        rpcUrl: node.rpcUrl,
        chainId: node.chainId,
        account: deployer,
      });
      deployment = await deployCustodyContracts({
        walletClient: walletClient!,
        publicClient,
        admin: deployer.address,
        anchorers: [deployer.address],
      });
      const hash = await walletClient!.writeContract({
        address: deployment.custodyAnchor,
        abi: custodyAnchorAbi,
        functionName: "anchor",
        args: [1n, hex(leaf(0)), [], `0x${"00".repeat(32)}`],
      });
      await publicClient.waitForTransactionReceipt({ hash });
    } finally {
      await node.stop();
    }
    expect(fs.existsSync(statePath)).to.equal(true);
    node = await startAnvil({ statePath });
    try {
      const { publicClient } = createChainClients({ rpcUrl: node.rpcUrl, chainId: node.chainId });
      expect(await readHeadCount(publicClient, deployment.custodyAnchor)).to.equal(1);
      expect((await readHead(publicClient, deployment.custodyAnchor, 0)).rootHash).to.equal(hex(leaf(0)));
    } finally {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("chain: loadSigner", function () {
  const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
  const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const ENV = "CUSTODY_TEST_SIGNER_KEY";
  afterEach(() => delete process.env[ENV]);

  it("loads a private key from an environment variable", async function () {
    process.env[ENV] = key;
    expect((await loadSigner({ envVar: ENV })).address).to.equal(address);
    process.env[ENV] = key.slice(2);
    expect((await loadSigner({ envVar: ENV })).address).to.equal(address);
  });

  it("decrypts an encrypted JSON keystore (scrypt) made by another implementation", async function () {
    const dir = tmpDir();
    const file = path.join(dir, "key.json");
    // Small scrypt parameters keep the test quick; the format is the standard v3 keystore.
    const wallet = new Wallet(key);
    const json = await encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      "correct horse",
      {
        scrypt: { N: 1024 },
      },
    );
    fs.writeFileSync(file, json);
    expect((await loadSigner({ keystorePath: file, password: "correct horse" })).address).to.equal(address);
    const err = await loadSigner({ keystorePath: file, password: "wrong" }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeyUnavailableError);
    expect((err as KeyUnavailableError).code).to.equal("KEY_UNAVAILABLE");
    expect(String((err as Error).message)).to.match(/wrong password/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("fails with KeyUnavailableError that never contains the key", async function () {
    process.env[ENV] = key.slice(0, 40); // malformed
    const err = (await loadSigner({ envVar: ENV }).catch((e: unknown) => e)) as KeyUnavailableError;
    expect(err).to.be.instanceOf(KeyUnavailableError);
    expect(`${err.message} ${err.details} ${err.stack}`).to.not.include(key.slice(2, 40));
    const zero = `0x${"00".repeat(32)}`;
    process.env[ENV] = zero;
    const err2 = (await loadSigner({ envVar: ENV }).catch((e: unknown) => e)) as KeyUnavailableError;
    expect(err2).to.be.instanceOf(KeyUnavailableError);
    expect(String(err2.cause)).to.not.include(zero.slice(2));
    delete process.env[ENV];
    await loadSigner({ envVar: ENV }).then(
      () => expect.fail("expected KeyUnavailableError"),
      (e: unknown) => expect(e).to.be.instanceOf(KeyUnavailableError),
    );
    await loadSigner({ keystorePath: path.join(os.tmpdir(), "no-such-keystore.json"), password: "x" }).then(
      () => expect.fail("expected KeyUnavailableError"),
      (e: unknown) => expect(e).to.be.instanceOf(KeyUnavailableError),
    );
  });
});
