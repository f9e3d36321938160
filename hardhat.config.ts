import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-ethers";
import "@nomicfoundation/hardhat-viem";

// The compiler comes from the pinned npm `solc` package (solc-js): nothing is downloaded, so
// compilation works offline. Hardhat would otherwise fetch solc from the internet (HH502).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require("solc");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SOLC_VERSION: string = require("solc/package.json").version;
const SOLC_LONG: string = solc.version().replace(/\.Emscripten\.clang$/, "");

/** The EVM fork of the permissioned chain we target (Besu supports cancun). One place only. */
export const EVM_VERSION = "cancun";

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
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: EVM_VERSION },
  },
  networks: {
    hardhat: { hardfork: EVM_VERSION },
    localhost: { url: process.env.CUSTODY_RPC_URL ?? "http://127.0.0.1:8545" },
  },
  paths: { tests: "test/contracts" },
  mocha: {
    timeout: 120_000,
    reporter: "./test/support/reporter.js",
    reporterOptions: { suite: "contracts" },
  },
};

export default config;
