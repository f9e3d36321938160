import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

export interface CreateChainClientsParameters {
  rpcUrl: string;
  chainId: number;
  /** Signer for the wallet client; omit for read-only use. */
  account?: Account;
  /** How often to poll for blocks and receipts (ms). Default 200: local nodes mine instantly. */
  pollingIntervalMs?: number;
}

export interface ChainClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  /** Present only when an account was given. */
  walletClient: WalletClient<Transport, Chain, Account> | undefined;
}

/** The viem chain description of a custody chain reached at `rpcUrl`. */
export function custodyChain(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `custody-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/**
 * viem public and wallet clients for one JSON-RPC endpoint.
 *
 * @example
 * const { publicClient, walletClient } = createChainClients({ rpcUrl, chainId: 31337, account: devAccount(0) });
 */
export function createChainClients(params: CreateChainClientsParameters): ChainClients {
  const chain = custodyChain(params.rpcUrl, params.chainId);
  const transport = http(params.rpcUrl);
  const pollingInterval = params.pollingIntervalMs ?? 200;
  const publicClient = createPublicClient({ chain, transport, pollingInterval });
  const walletClient = params.account
    ? createWalletClient({ chain, transport, account: params.account, pollingInterval })
    : undefined;
  return { chain, publicClient, walletClient };
}
