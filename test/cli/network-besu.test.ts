import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { getAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { parse as parseYaml } from "yaml";
import { CONTRACTS_EVM_VERSION } from "../../src/chain/evm-opcodes";
import { runCli } from "../../src/cli/main";
import {
  decodeQbftExtraData,
  encodeQbftExtraData,
  rlpQbftExtraData,
} from "../../src/network/besu/extra-data";
import { genesisFork } from "../../src/network/besu/genesis";

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Every file under `dir`, relative paths. */
function listFiles(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
}

// Role keys (hardhat's well-known test accounts): deployer, relayer, custodian bank, audit firm.
const ROLE_KEYS: Address[] = [
  "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
];

describe("cli: custody network besu", function () {
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "custody-besu-"))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("encodes extraData as the Besu QBFT documentation's genesis example, and sorts the validators", function () {
    // besu-docs, private-networks/how-to/configure/consensus/qbft.md, "Block header validator selection".
    const documented =
      "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0";
    // The example lists its validators unsorted; the same RLP layout with them in that order gives its bytes.
    const documentedOrder: Address[] = [
      "0x64a702e6263b7297a96638cac6ae65e6541f4169",
      "0x3923390ad55e90c237593b3b0e401f3b08a03185",
      "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
      "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    ];
    expect(rlpQbftExtraData(documentedOrder)).to.equal(documented);
    expect(decodeQbftExtraData(documented).validators.map((a) => a.toLowerCase())).to.deep.equal(
      documentedOrder,
    );
    // Ours are ascending whatever order they come in.
    const shuffled = [documentedOrder[3]!, documentedOrder[0]!, documentedOrder[2]!, documentedOrder[1]!];
    const ours = decodeQbftExtraData(encodeQbftExtraData(shuffled)).validators.map((a) => a.toLowerCase());
    expect(ours).to.deep.equal([...documentedOrder].sort());
  });

  describe("a 4-validator network", function () {
    let dir: string;
    let run: { code: number; out: string; err: string };
    let keys: Map<string, Hex>;
    before(async () => {
      dir = path.join(root, "net");
      run = await cli([
        "network",
        "besu",
        "--validators",
        "4",
        "--out",
        dir,
        "--block-period",
        "3",
        "--chain-id",
        "4242",
        "--accounts",
        ROLE_KEYS.join(","),
      ]);
      keys = new Map(
        [1, 2, 3, 4].map((i) => [
          `validator-${i}`,
          fs.readFileSync(path.join(dir, `validator-${i}/key`), "utf8").trim() as Hex,
        ]),
      );
    });
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    const validatorAddresses = () => [...keys.values()].map((k) => privateKeyToAccount(k).address);

    it("exits 0 and prints addresses and enode URLs but never a node key", function () {
      expect(run.code, run.err).to.equal(0);
      for (const a of validatorAddresses()) expect(run.out.toLowerCase()).to.include(a.toLowerCase());
      for (const k of keys.values()) {
        expect(run.out + run.err).not.to.include(k.slice(2));
      }
    });

    it("writes the node keys 0600, and no other file holds them", function () {
      const files = listFiles(dir);
      for (const [name, key] of keys) {
        expect(key).to.match(/^0x[0-9a-f]{64}$/);
        expect(fs.statSync(path.join(dir, name, "key")).mode & 0o777).to.equal(0o600);
        for (const f of files.filter((f) => f !== `${name}/key`))
          expect(read(f)).not.to.include(key.slice(2));
      }
    });

    it("every generated file parses: JSON, TOML (smol-toml), YAML (yaml)", function () {
      const files = listFiles(dir);
      expect(files).to.include.members([
        "genesis.json",
        "network.json",
        "permissions_config.toml",
        "docker-compose.yml",
        "README.md",
        "validator-1/config.toml",
        "validator-4/key.pub",
      ]);
      let parsed = 0;
      for (const f of files) {
        if (f.endsWith(".json")) expect(() => JSON.parse(read(f)), f).not.to.throw();
        else if (f.endsWith(".toml")) expect(() => parseToml(read(f)), f).not.to.throw();
        else if (f.endsWith(".yml")) expect(() => parseYaml(read(f)), f).not.to.throw();
        else continue;
        parsed++;
      }
      expect(parsed).to.equal(4 + 4); // genesis, network, permissions, compose, 4 node configs (README is prose)
    });

    it("genesis extraData decodes (viem RLP) to exactly the validators, ascending", function () {
      const genesis = JSON.parse(read("genesis.json")) as { extraData: Hex };
      const { validators, vanity, round } = decodeQbftExtraData(genesis.extraData);
      const expected = validatorAddresses()
        .map((a) => a.toLowerCase())
        .sort()
        .map((a) => getAddress(a));
      expect(validators).to.deep.equal(expected);
      expect(vanity).to.equal(`0x${"00".repeat(32)}`);
      expect(round).to.equal("0x");
      // validator-N is the N-th address in extraData order.
      expect(privateKeyToAccount(keys.get("validator-1")!).address).to.equal(expected[0]);
    });

    it("genesis: QBFT timing, zero base fee, the contracts' fork, a gas limit for anchors, funded role keys", function () {
      const g = JSON.parse(read("genesis.json")) as {
        config: Record<string, unknown> & { chainId: number; qbft: Record<string, number> };
        gasLimit: Hex;
        alloc: Record<string, { balance: Hex }>;
      };
      expect(g.config.chainId).to.equal(4242);
      expect(g.config.qbft).to.deep.equal({
        blockperiodseconds: 3,
        epochlength: 30000,
        requesttimeoutseconds: 6,
      });
      expect(g.config.zeroBaseFee).to.equal(true);
      expect(genesisFork(g)).to.equal(CONTRACTS_EVM_VERSION);
      // ~130k gas per anchor (BENCHMARKS.md): a block must hold well over a hundred of them.
      expect(BigInt(g.gasLimit) >= 100n * 130_000n).to.equal(true);
      for (const a of ROLE_KEYS)
        expect(BigInt(g.alloc[a.slice(2).toLowerCase()]!.balance) > 0n).to.equal(true);
    });

    it("allowlists hold every validator's enode and every role key; every node uses the same file", function () {
      const perms = parseToml(read("permissions_config.toml")) as {
        "nodes-allowlist": string[];
        "accounts-allowlist": string[];
      };
      const enodeIds = [1, 2, 3, 4].map((i) => read(`validator-${i}/key.pub`).trim().slice(2));
      for (const [name, key] of keys) {
        const pub = privateKeyToAccount(key).publicKey.slice(4);
        expect(enodeIds, name).to.include(pub);
      }
      const allowedIds = perms["nodes-allowlist"].map(
        (u) => /^enode:\/\/([0-9a-f]{128})@[\d.]+:\d+$/.exec(u)![1],
      );
      expect([...allowedIds].sort()).to.deep.equal([...enodeIds].sort());
      expect(perms["accounts-allowlist"]).to.deep.equal(ROLE_KEYS.map((a) => a.toLowerCase()));

      const compose = parseYaml(read("docker-compose.yml")) as {
        services: Record<string, { image: string; volumes: string[]; command: string[] }>;
      };
      expect(Object.keys(compose.services)).to.deep.equal([1, 2, 3, 4].map((i) => `validator-${i}`));
      for (const [name, svc] of Object.entries(compose.services)) {
        const config = parseToml(read(`${name}/config.toml`)) as Record<string, unknown>;
        expect(config["min-gas-price"], name).to.equal(0);
        const mounted = svc.volumes.find((v) => v.startsWith("./permissions_config.toml:"))!.split(":")[1];
        expect(config["permissions-nodes-config-file"], name).to.equal(mounted);
        expect(config["permissions-accounts-config-file"], name).to.equal(mounted);
        expect(config["permissions-nodes-config-file-enabled"]).to.equal(true);
        expect(config["permissions-accounts-config-file-enabled"]).to.equal(true);
        // Besu refuses to start when a bootnode is missing from the nodes allowlist.
        const bootnodes = config.bootnodes as string[];
        expect(bootnodes).to.have.length(3);
        for (const b of bootnodes) expect(perms["nodes-allowlist"]).to.include(b);
        expect(svc.command).to.deep.equal([
          `--config-file=${svc.volumes.find((v) => v.startsWith(`./${name}:`))!.split(":")[1]}/config.toml`,
        ]);
      }
    });

    it("pins an exact Besu image ≥ 24.5.1", function () {
      const compose = parseYaml(read("docker-compose.yml")) as {
        services: Record<string, { image: string }>;
      };
      for (const svc of Object.values(compose.services)) {
        const m = /^hyperledger\/besu:(\d+)\.(\d+)\.(\d+)$/.exec(svc.image);
        expect(m, svc.image).to.not.equal(null);
        const [maj, min, patch] = m!.slice(1).map(Number) as [number, number, number];
        expect(maj * 1e6 + min * 1e3 + patch >= 24_005_001, svc.image).to.equal(true);
      }
    });

    it("the README gives the deployment, role-grant and relayer steps against the network's RPC", function () {
      const readme = read("README.md");
      expect(readme).to.include("npm run deploy -- --rpc-url http://127.0.0.1:8545");
      expect(readme).to.include("--anchorer RELAYER --platform RELAYER");
      expect(readme).to.include(
        "npm start -- --rpc http://127.0.0.1:8545 --deployment deployment.json --confirmations",
      );
    });

    it("refuses to write into a folder that is not empty, and changes nothing", async function () {
      const before = read("genesis.json");
      const again = await cli(["network", "besu", "--validators", "4", "--out", dir]);
      expect(again.code).to.equal(2);
      expect(again.err).to.match(/is not empty/);
      expect(read("genesis.json")).to.equal(before);
    });
  });

  it("refuses a fork older than the contracts need, naming PUSH0 and MCOPY, and writes nothing", async function () {
    const out = path.join(root, "london");
    const r = await cli(["network", "besu", "--validators", "4", "--out", out, "--evm", "london"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/opcodes that london does not have/);
    expect(r.err).to.include("PUSH0 (shanghai)");
    expect(r.err).to.include("MCOPY (cancun)");
    expect(fs.existsSync(out)).to.equal(false);
  });

  it("refuses bad options with a named message and writes nothing", async function () {
    const out = path.join(root, "bad");
    const cases: [string[], RegExp][] = [
      [["--validators", "0"], /--validators must be a positive integer/],
      [["--validators", "4", "--accounts", "0x1234"], /--accounts: "0x1234" is not an address/],
      [["--validators", "4", "--evm", "prague"], /--evm must be one of london, shanghai, cancun/],
      [["--validators", "4", "--block-period", "0.5"], /--block-period must be a positive integer/],
      [["--validators", "4", "--chain-id", "-1"], /--chain-id must be a positive integer/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["network", "besu", "--out", out, ...args]);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.err, args.join(" ")).to.match(message);
    }
    expect(fs.existsSync(out)).to.equal(false);
  });
});
