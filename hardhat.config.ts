import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-ethers";
import "@nomicfoundation/hardhat-viem";
import { CONTRACTS_EVM_VERSION } from "./src/chain/evm-opcodes";

// The compiler comes from the pinned npm `solc` package (solc-js): nothing is downloaded, so
// compilation works offline. Hardhat would otherwise fetch solc from the internet (HH502).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require("solc");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SOLC_VERSION: string = require("solc/package.json").version;
const SOLC_LONG: string = solc.version().replace(/\.Emscripten\.clang$/, "");

/** The EVM fork of the permissioned chain we target (Besu supports cancun), set in src/chain/evm-opcodes.ts. */
export const EVM_VERSION: string = CONTRACTS_EVM_VERSION;

/**
 * `CUSTODY_EVM_VERSION=london npx hardhat compile` builds for another fork into its own
 * `artifacts-<fork>/` and `cache-<fork>/`, leaving the target build untouched: it checks whether
 * the contracts run on an older chain (`custody network besu --evm`, docs/besu.md).
 */
const BUILD_EVM = process.env.CUSTODY_EVM_VERSION || EVM_VERSION;
const BUILD_DIRS =
  BUILD_EVM === EVM_VERSION ? {} : { artifacts: `artifacts-${BUILD_EVM}`, cache: `cache-${BUILD_EVM}` };

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }: { solcVersion: string }) => {
  if (solcVersion !== SOLC_VERSION) {
    throw new Error(`only solc ${SOLC_VERSION} is available offline, asked for ${solcVersion}`);
  }
  return {
    version: SOLC_VERSION,
    longVersion: SOLC_LONG,
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: BUILD_EVM },
  },
  networks: {
    hardhat: { hardfork: BUILD_EVM },
    localhost: { url: process.env.CUSTODY_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  paths: { tests: "test/contracts", ...BUILD_DIRS },
  mocha: {
    timeout: 120_000,
    reporter: "./test/support/reporter.js",
    reporterOptions: { suite: "contracts" },
  },
};

export default config;
