import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { CONTRACTS } from "../../scripts/gen-abi";
import {
  CONTRACTS_EVM_VERSION,
  metadataLength,
  scanOpcodesNewerThan,
  type EvmFork,
} from "../../src/chain/evm-opcodes";
import { InvalidArgumentError } from "../../src/errors";
import { planBesuNetwork } from "../../src/network/besu/generate";
import { genesisFork } from "../../src/network/besu/genesis";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require("solc") as { compile(input: string, cb: { import(p: string): unknown }): string };

const ROOT = path.resolve(__dirname, "../..");

/** Runtime bytecode of every deployed contract, from the Hardhat artifacts of `artifactsDir`. */
function runtimeBytecode(artifactsDir: string): { name: string; code: Hex }[] {
  return CONTRACTS.map((c) => {
    const file = path.join(ROOT, artifactsDir, c.artifact);
    expect(fs.existsSync(file), `no artifact ${file}: run \`npm run compile\` first`).to.equal(true);
    const a = JSON.parse(fs.readFileSync(file, "utf8")) as { deployedBytecode: Hex };
    return { name: c.name, code: a.deployedBytecode };
  });
}

/** Compiles one contract with the pinned solc-js (the optimizer settings of hardhat.config.ts) for `fork`. */
function compileFor(name: string, fork: EvmFork): { code?: Hex; errors: string[] } {
  const source = `contracts/${name}.sol`;
  const input = {
    language: "Solidity",
    sources: { [source]: { content: fs.readFileSync(path.join(ROOT, source), "utf8") } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: fork,
      outputSelection: { [source]: { [name]: ["evm.deployedBytecode.object"] } },
    },
  };
  const findImports = (p: string) => {
    const file = path.join(ROOT, p.startsWith("@") ? `node_modules/${p}` : p);
    return fs.existsSync(file) ? { contents: fs.readFileSync(file, "utf8") } : { error: `not found: ${p}` };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === "error").map((e) => e.formattedMessage);
  const object = out.contracts?.[source]?.[name]?.evm.deployedBytecode.object;
  return { code: object ? (`0x${object}` as Hex) : undefined, errors };
}

const names = (code: Hex, fork: EvmFork) => scanOpcodesNewerThan(code, fork).map((f) => f.name);

describe("chain: EVM opcode scan", function () {
  describe("the walker", function () {
    it("finds opcodes newer than the fork, and none the fork has", function () {
      // PUSH0 PUSH0 MCOPY STOP
      expect(names("0x5f5f5e00", "london")).to.deep.equal(["PUSH0", "PUSH0", "MCOPY"]);
      expect(names("0x5f5f5e00", "shanghai")).to.deep.equal(["MCOPY"]);
      expect(names("0x5f5f5e00", "cancun")).to.deep.equal([]);
      expect(scanOpcodesNewerThan("0x00485f", "berlin")).to.deep.equal([
        { offset: 1, opcode: 0x48, name: "BASEFEE", introducedIn: "london" },
        { offset: 2, opcode: 0x5f, name: "PUSH0", introducedIn: "shanghai" },
      ]);
    });

    it("skips PUSH data: 0x5f/0x5e inside PUSH1 and PUSH32 immediates are not opcodes", function () {
      expect(names("0x605f00", "london")).to.deep.equal([]);
      expect(names(`0x7f${"5e".repeat(32)}00`, "london")).to.deep.equal([]);
      // …but the byte right after the immediate is.
      expect(names(`0x7f${"5e".repeat(32)}5f`, "london")).to.deep.equal(["PUSH0"]);
    });

    it("skips solc's CBOR metadata trailer, and only a well-formed one", function () {
      // a2 64 'ipfs' 42 <34 bytes> 64 'solc' 43 <3 bytes>, then its 2-byte length: bytes full of 0x5f.
      const cbor = `a264697066735822${"5f".repeat(34)}64736f6c6343${"5f".repeat(3)}`;
      const withMeta = `0x00${cbor}${(cbor.length / 2).toString(16).padStart(4, "0")}` as Hex;
      expect(metadataLength(Buffer.from(withMeta.slice(2), "hex"))).to.equal(cbor.length / 2 + 2);
      expect(names(withMeta, "london")).to.deep.equal([]);
      // The same bytes without a map header are code, and are scanned.
      const notMeta = `0x00${"5f".repeat(4)}0004` as Hex;
      expect(names(notMeta, "london")).to.deep.equal(["PUSH0", "PUSH0", "PUSH0", "PUSH0"]);
    });

    it("reports bytes no fork defines, and refuses an unknown fork", function () {
      expect(scanOpcodesNewerThan("0x0c", "cancun")).to.deep.equal([
        { offset: 0, opcode: 0x0c, name: "0x0c", introducedIn: undefined },
      ]);
      expect(() => scanOpcodesNewerThan("0x00", "osaka" as EvmFork)).to.throw(
        InvalidArgumentError,
        /unknown EVM fork/,
      );
    });
  });

  describe("the compiled contracts against the generated genesis", function () {
    const contracts = () => runtimeBytecode("artifacts");

    it(`use no opcode newer than the genesis fork (${CONTRACTS_EVM_VERSION}) of \`custody network besu\``, function () {
      const plan = planBesuNetwork({
        validators: 4,
        chainId: 1337,
        blockPeriodSeconds: 2,
        fork: CONTRACTS_EVM_VERSION,
        accounts: [],
      });
      const genesis = JSON.parse(plan.files.find((f) => f.path === "genesis.json")!.content);
      const fork = genesisFork(genesis);
      expect(fork).to.equal(CONTRACTS_EVM_VERSION);
      for (const c of contracts()) expect(scanOpcodesNewerThan(c.code, fork), c.name).to.deep.equal([]);
    });

    it("would not run on a london genesis: the scan finds PUSH0 and MCOPY", function () {
      const found = new Set(contracts().flatMap((c) => names(c.code, "london")));
      expect([...found].sort()).to.deep.equal(["MCOPY", "PUSH0"]);
    });

    it("built for london: CustodyAnchor and CustodyEscrow compile and scan clean; CustodySolvency cannot compile (mcopy)", function () {
      this.timeout(600_000);
      for (const name of ["CustodyAnchor", "CustodyEscrow"]) {
        const { code, errors } = compileFor(name, "london");
        expect(errors, name).to.deep.equal([]);
        expect(names(code!, "london"), name).to.deep.equal([]);
        // The same walker on the same contract's cancun build does find them: it is the build that differs.
        expect(names(runtimeBytecode("artifacts").find((c) => c.name === name)!.code, "london")).to.include(
          "PUSH0",
        );
      }
      // EIP712 -> MessageHashUtils -> Strings -> Bytes.sol, whose inline assembly uses mcopy.
      const solvency = compileFor("CustodySolvency", "london");
      expect(solvency.errors.join("\n")).to.match(
        /"mcopy" instruction is only available for Cancun-compatible VMs/,
      );
      expect(solvency.errors.join("\n")).to.include("@openzeppelin/contracts/utils/Bytes.sol");
    });
  });
});
