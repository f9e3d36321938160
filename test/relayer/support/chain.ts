import { type HDAccount } from "viem/accounts";
import { type AnvilNode, devAccount, startAnvil } from "../../../src/chain/anvil";
import { createChainClients } from "../../../src/chain/clients";
import { type Deployment, deployCustodyContracts } from "../../../src/chain/deployment";

export interface TestChain {
  node: AnvilNode;
  deployment: Deployment;
  /** Holds ANCHORER_ROLE and PLATFORM_ROLE. */
  relayer: HDAccount;
  custodian: HDAccount;
  approvers: HDAccount[];
  clients: ReturnType<typeof createChainClients>;
}

/** A fresh anvil node with the custody contracts deployed by dev account 0. */
export async function startTestChain(
  opts: { blockTime?: number; statePath?: string } = {},
): Promise<TestChain> {
  const node = await startAnvil({ blockTime: opts.blockTime, statePath: opts.statePath });
  const admin = devAccount(0);
  const relayer = devAccount(1);
  const custodian = devAccount(2);
  const approvers = [devAccount(3), devAccount(4)];
  const clients = createChainClients({ rpcUrl: node.rpcUrl, chainId: node.chainId, account: admin });
  const deployment = await deployCustodyContracts({
    walletClient: clients.walletClient!,
    publicClient: clients.publicClient,
    admin: admin.address,
    anchorers: [relayer.address],
    platforms: [relayer.address],
    custodians: [custodian.address],
  });
  return { node, deployment, relayer, custodian, approvers, clients };
}
