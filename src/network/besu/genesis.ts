import { numberToHex, type Address, type Hex } from "viem";
import type { EvmFork } from "../../chain/evm-opcodes";
import { NetworkConfigError } from "../errors";
import { encodeQbftExtraData } from "./extra-data";

/** Forks a generated genesis can activate at block 0 (later ones need settings we do not write, e.g. prague's blob schedule). */
export const GENESIS_FORKS = ["london", "shanghai", "cancun"] as const satisfies readonly EvmFork[];
export type GenesisFork = (typeof GENESIS_FORKS)[number];

/** Block-number milestones up to london, all at block 0 (Besu genesis "milestone blocks"). */
const BLOCK_MILESTONES = [
  "homesteadBlock",
  "eip150Block",
  "eip155Block",
  "eip158Block",
  "byzantiumBlock",
  "constantinopleBlock",
  "petersburgBlock",
  "istanbulBlock",
  "berlinBlock",
  "londonBlock",
] as const;
/** Timestamp milestones after london; the merge (paris) does not apply to a QBFT chain. */
const TIME_MILESTONES: Record<Exclude<GenesisFork, "london">, string> = {
  shanghai: "shanghaiTime",
  cancun: "cancunTime",
};

/**
 * Block gas limit: 50M gas holds ~400 anchors (~105–130k gas each, BENCHMARKS.md) or a deployment
 * of all three contracts (a few M gas) in one block. Gas is free (zero base fee, min-gas-price 0),
 * so the limit only bounds a block's execution time.
 */
export const GENESIS_GAS_LIMIT = 50_000_000n;

/** Balance given to each allowlisted account: fee estimates may suggest a non-zero tip even at base fee 0. */
export const ACCOUNT_BALANCE = 10n ** 24n;

/** QBFT's mixHash ("ctical byzantine fault tolerance"), as in every Besu QBFT genesis. */
const QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";

export interface QbftGenesisParameters {
  chainId: number;
  validators: readonly Address[];
  blockPeriodSeconds: number;
  fork: GenesisFork;
  /** Accounts funded at genesis (the role keys). */
  accounts: readonly Address[];
  epochLength?: number;
}

/** The genesis file (Besu JSON) of a QBFT network with block-header validator selection. */
export function buildQbftGenesis(p: QbftGenesisParameters): Record<string, unknown> {
  if (!Number.isSafeInteger(p.blockPeriodSeconds) || p.blockPeriodSeconds < 1)
    throw new NetworkConfigError(
      `block period must be a whole number of seconds ≥ 1, got ${p.blockPeriodSeconds}`,
    );
  if (!GENESIS_FORKS.includes(p.fork))
    throw new NetworkConfigError(`a generated genesis supports ${GENESIS_FORKS.join(", ")}, not ${p.fork}`);
  const milestones: Record<string, number> = {};
  for (const m of BLOCK_MILESTONES) milestones[m] = 0;
  for (const fork of GENESIS_FORKS.slice(1, GENESIS_FORKS.indexOf(p.fork) + 1))
    milestones[TIME_MILESTONES[fork as Exclude<GenesisFork, "london">]] = 0;
  const alloc: Record<string, { balance: Hex }> = {};
  // Keys without 0x, as in the Besu docs' genesis examples.
  for (const a of p.accounts) alloc[a.slice(2).toLowerCase()] = { balance: numberToHex(ACCOUNT_BALANCE) };
  return {
    config: {
      chainId: p.chainId,
      ...milestones,
      zeroBaseFee: true,
      qbft: {
        blockperiodseconds: p.blockPeriodSeconds,
        epochlength: p.epochLength ?? 30_000,
        // A round that times out at twice the block period keeps one slow proposer from stalling the chain for long.
        requesttimeoutseconds: 2 * p.blockPeriodSeconds,
      },
    },
    nonce: "0x0",
    timestamp: "0x0",
    extraData: encodeQbftExtraData(p.validators),
    gasLimit: numberToHex(GENESIS_GAS_LIMIT),
    difficulty: "0x1",
    mixHash: QBFT_MIX_HASH,
    coinbase: "0x0000000000000000000000000000000000000000",
    alloc,
    number: "0x0",
    gasUsed: "0x0",
    parentHash: `0x${"00".repeat(32)}`,
  };
}

/** The latest fork a genesis activates at block 0 / time 0 (what its EVM runs from the first block). */
export function genesisFork(genesis: { config?: Record<string, unknown> }): GenesisFork {
  const config = genesis.config ?? {};
  let fork: GenesisFork | undefined = config.londonBlock === 0 ? "london" : undefined;
  for (const f of GENESIS_FORKS.slice(1)) {
    if (config[TIME_MILESTONES[f as Exclude<GenesisFork, "london">]] === 0) fork = f;
  }
  if (!fork) throw new NetworkConfigError("the genesis does not activate london at block 0");
  return fork;
}
