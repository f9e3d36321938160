import fs from "node:fs";
import path from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { NetworkConfigError } from "../errors";
import { assertContractsRunOn } from "./check-contracts";
import { sortValidators } from "./extra-data";
import {
  P2P_PORT,
  RPC_PORT,
  renderCompose,
  renderNodeConfig,
  renderPermissions,
  renderReadme,
  validatorIp,
  type ValidatorPlan,
} from "./files";
import { GENESIS_FORKS, buildQbftGenesis, type GenesisFork } from "./genesis";
import { enodeUrl, generateNodeKey, type BesuNodeKey } from "./node-key";

export interface BesuNetworkParameters {
  validators: number;
  chainId: number;
  blockPeriodSeconds: number;
  /** An EVM fork name (solc's evmVersion); only GENESIS_FORKS are accepted. */
  fork: string;
  /** Role keys allowed to send transactions (deployer, relayer, bank, auditors…). */
  accounts: readonly string[];
}

/** One file of the network; `secret` files are written 0600 and their content never printed. */
export interface NetworkFile {
  path: string;
  content: string;
  secret?: boolean;
}

export interface BesuNetworkPlan {
  chainId: number;
  fork: GenesisFork;
  validators: ValidatorPlan[];
  accounts: Address[];
  files: NetworkFile[];
}

/** QBFT's message load grows with the square of the validators; consortia run 4 to a few dozen. */
const MAX_VALIDATORS = 64;

/**
 * Everything `custody network besu` writes, in memory: node keys, genesis, permissions, node
 * configs, docker-compose.yml, README.md and network.json (the public facts: validators, enode
 * URLs, accounts). Refuses a fork that cannot run the compiled contracts.
 */
export function planBesuNetwork(
  p: BesuNetworkParameters,
  newKey: () => BesuNodeKey = generateNodeKey,
): BesuNetworkPlan {
  if (!Number.isSafeInteger(p.validators) || p.validators < 1 || p.validators > MAX_VALIDATORS)
    throw new NetworkConfigError(`--validators must be 1…${MAX_VALIDATORS}, got ${p.validators}`, {
      details: "4 validators tolerate one faulty node (QBFT needs more than two thirds)",
    });
  if (!Number.isSafeInteger(p.chainId) || p.chainId < 1)
    throw new NetworkConfigError(`--chain-id must be a positive integer, got ${p.chainId}`);
  if (!(GENESIS_FORKS as readonly string[]).includes(p.fork))
    throw new NetworkConfigError(`--evm must be one of ${GENESIS_FORKS.join(", ")}, got ${p.fork}`);
  const fork = p.fork as GenesisFork;
  assertContractsRunOn(fork);
  const accounts = uniqueAccounts(p.accounts);

  const keys = Array.from({ length: p.validators }, newKey);
  // Names follow the ascending validator order, so validator-1 is the first address in extraData.
  const byAddress = new Map(keys.map((k) => [k.address, k]));
  const ordered = sortValidators(keys.map((k) => k.address)).map((a) => byAddress.get(a)!);
  const validators: ValidatorPlan[] = ordered.map((k, i) => {
    const ip = validatorIp(i + 1);
    return {
      name: `validator-${i + 1}`,
      address: k.address,
      enodeId: k.enodeId,
      ip,
      enode: enodeUrl(k, ip, P2P_PORT),
      rpcHostPort: RPC_PORT + i,
    };
  });
  const genesis = buildQbftGenesis({
    chainId: p.chainId,
    validators: validators.map((v) => v.address),
    blockPeriodSeconds: p.blockPeriodSeconds,
    fork,
    accounts,
  });
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  const files: NetworkFile[] = [
    { path: "genesis.json", content: json(genesis) },
    { path: "permissions_config.toml", content: renderPermissions(validators, accounts) },
    { path: "docker-compose.yml", content: renderCompose(validators) },
    {
      path: "README.md",
      content: renderReadme({
        chainId: p.chainId,
        fork,
        blockPeriodSeconds: p.blockPeriodSeconds,
        validators,
        accounts,
      }),
    },
    {
      path: "network.json",
      content: json({
        format: "custody-besu-network-v1",
        chainId: p.chainId,
        evmFork: fork,
        blockPeriodSeconds: p.blockPeriodSeconds,
        validators: validators.map(({ name, address, enode, rpcHostPort }) => ({
          name,
          address,
          enode,
          rpc: `http://127.0.0.1:${rpcHostPort}`,
        })),
        accounts,
      }),
    },
  ];
  ordered.forEach((k, i) => {
    const v = validators[i]!;
    files.push(
      { path: `${v.name}/key`, content: k.privateKey, secret: true },
      { path: `${v.name}/key.pub`, content: `0x${k.enodeId}` },
      { path: `${v.name}/config.toml`, content: renderNodeConfig(v, validators) },
    );
  });
  return { chainId: p.chainId, fork, validators, accounts, files };
}

function uniqueAccounts(list: readonly string[]): Address[] {
  const seen = new Set<string>();
  const out: Address[] = [];
  for (const raw of list) {
    const a = raw.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(a) || !isAddress(a, { strict: false }))
      throw new NetworkConfigError(`--accounts: ${JSON.stringify(a)} is not an address`);
    const checksummed = getAddress(a);
    if (seen.has(checksummed)) continue;
    seen.add(checksummed);
    out.push(checksummed);
  }
  return out;
}

/**
 * Writes a plan under `outDir`, which must not exist or be empty (a network is never overwritten:
 * its keys would be lost). Secret files are created 0600 with `wx`, directories 0700.
 */
export function writeNetworkFiles(outDir: string, files: readonly NetworkFile[]): void {
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0)
    throw new NetworkConfigError(`${outDir} is not empty`, {
      details: "a generated network is never overwritten (its node keys would be lost): give a new --out",
    });
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const target = path.join(outDir, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.writeFileSync(target, f.content, { flag: "wx", mode: f.secret ? 0o600 : 0o644 });
  }
}
