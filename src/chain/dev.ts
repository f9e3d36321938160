import type { Account, Address, Hex } from "viem";
import type { HDAccount } from "viem/accounts";
import { type AnvilNode, type StartAnvilParameters, devAccount, startAnvil } from "./anvil";
import { type ChainClients, createChainClients } from "./clients";
import { type Deployment, deployCustodyContracts } from "./deployment";

/**
 * The development accounts (indices of the dev mnemonic) and the role each plays on a local chain:
 * the one table tests, benches and `npm start` (which prints it) share.
 */
export const DEV_ROLES = {
  /** DEFAULT_ADMIN_ROLE and PAUSER_ROLE; deploys the contracts. */
  admin: 0,
  /** ANCHORER_ROLE and PLATFORM_ROLE: the platform's relayer. */
  relayer: 1,
  /** CUSTODIAN_ROLE: the bank. */
  custodian: 2,
  /** AUDITOR_ROLE. */
  auditor: 3,
  /** An escrow approver acting for the payer (no role). */
  approverPayer: 4,
  /** An escrow approver acting for the payee (no role). */
  approverPayee: 5,
} as const;

export type DevRole = keyof typeof DEV_ROLES;
export type DevAccounts = { readonly [R in DevRole]: HDAccount };

/** The dev accounts by role (see {@link DEV_ROLES}). */
export function devAccounts(mnemonic?: string): DevAccounts {
  return Object.fromEntries(
    Object.entries(DEV_ROLES).map(([role, i]) => [role, devAccount(i, mnemonic)]),
  ) as unknown as DevAccounts;
}

export interface DeployDevContractsParameters {
  rpcUrl: string;
  chainId: number;
  /** Holder of ANCHORER_ROLE and PLATFORM_ROLE; default the dev relayer account. */
  relayer?: Address;
  /** Per asset (bytes32 code), the amount above which the custodian must also approve a release. */
  custodianThresholds?: { asset: Hex; amount: bigint }[];
  mnemonic?: string;
  /** CustodyAnchor's cosigner (the custodian witness's anchor key); default none. */
  anchorCosigner?: Address;
}

/**
 * Deploys CustodyAnchor and CustodyEscrow from the dev admin account with the dev accounts in their
 * {@link DEV_ROLES}. Only for local chains: the accounts' keys are public.
 */
export async function deployDevContracts(p: DeployDevContractsParameters): Promise<Deployment> {
  const a = devAccounts(p.mnemonic);
  const { walletClient, publicClient } = createChainClients({
    rpcUrl: p.rpcUrl,
    chainId: p.chainId,
    account: a.admin,
  });
  const relayer = p.relayer ?? a.relayer.address;
  return deployCustodyContracts({
    walletClient: walletClient!,
    publicClient,
    admin: a.admin.address,
    anchorers: [relayer],
    platforms: [relayer],
    custodians: [a.custodian.address],
    auditors: [a.auditor.address],
    pausers: [a.admin.address],
    custodianThresholds: p.custodianThresholds,
    anchorCosigner: p.anchorCosigner,
  });
}

/** Clients of one signing account (the wallet client is always there). */
export type SigningClients = ChainClients & { walletClient: NonNullable<ChainClients["walletClient"]> };

export interface StartDevChainParameters extends StartAnvilParameters {
  custodianThresholds?: DeployDevContractsParameters["custodianThresholds"];
  /** Polling interval of the returned clients (ms); default that of {@link createChainClients}. */
  pollingIntervalMs?: number;
}

/** A local anvil node with the custody contracts deployed in the dev roles. */
export interface DevChain {
  node: AnvilNode;
  deployment: Deployment;
  /** The dev accounts by role. */
  accounts: DevAccounts;
  /** Clients signing as the dev admin. */
  clients: SigningClients;
  /** Clients signing as `account`. */
  clientsOf(account: Account): SigningClients;
  /** Deploys another pair of contracts with the same roles (history not shared with the first). */
  deploy(opts?: Pick<DeployDevContractsParameters, "custodianThresholds">): Promise<Deployment>;
  stop(): Promise<void>;
}

/**
 * Starts anvil and deploys the contracts with the dev accounts in {@link DEV_ROLES}.
 *
 * @example
 * const chain = await startDevChain();
 * // chain.deployment, chain.accounts.relayer, chain.clients.publicClient …
 * await chain.stop();
 */
export async function startDevChain(p: StartDevChainParameters = {}): Promise<DevChain> {
  const { custodianThresholds, pollingIntervalMs, ...anvil } = p;
  const node = await startAnvil(anvil);
  try {
    const accounts = devAccounts(p.mnemonic);
    const clientsOf = (account: Account) =>
      createChainClients({
        rpcUrl: node.rpcUrl,
        chainId: node.chainId,
        account,
        pollingIntervalMs,
      }) as SigningClients;
    const deploy = (o: Pick<DeployDevContractsParameters, "custodianThresholds"> = {}) =>
      deployDevContracts({ rpcUrl: node.rpcUrl, chainId: node.chainId, mnemonic: p.mnemonic, ...o });
    const deployment = await deploy({ custodianThresholds });
    return {
      node,
      deployment,
      accounts,
      clients: clientsOf(accounts.admin),
      clientsOf,
      deploy,
      stop: () => node.stop(),
    };
  } catch (e) {
    await node.stop();
    throw e;
  }
}
