import type { Address, Hex } from "viem";
import type { AnvilNode } from "../../../src/chain/anvil";
import { startDevChain, type DevChain } from "../../../src/chain/dev";
import { custodyAnchorAbi } from "../../../src/chain/generated/abi";
import { createReceipt, type ReceiptAnchor, type ReceiptJson } from "../../../src/verify";
import { consistencyProof, makeTree, type TestTree } from "./entries";

/**
 * A real anvil (the dev chain) with two CustodyAnchor deployments:
 * - A: head #0 = first 5 leaves, head #1 = all 11 leaves (anchored with a consistency proof);
 * - B: head #0 = all 11 leaves (a valid but different contract, for "another contract" cases).
 * Trees are built with the independent test reference, not src/log.
 */
export interface ChainFixture {
  node: AnvilNode;
  /** The dev chain itself (deployment with CustodySolvency, role accounts, clients). */
  dev: DevChain;
  rpcUrl: string;
  chainId: number;
  tree: TestTree;
  anchorA: Address;
  anchorB: Address;
  /** Anchors of contract A, by head index, and of contract B (head 0). */
  headsA: ReceiptAnchor[];
  headB: ReceiptAnchor;
  /** A valid receipt of leaf `index` against `anchor` (its proof is for anchor.treeSize). */
  receipt(index: number, anchor: ReceiptAnchor): ReceiptJson;
  stop(): Promise<void>;
}

export const TREE_SIZE = 11;
export const FIRST_HEAD_SIZE = 5;

export async function startChainFixture(): Promise<ChainFixture> {
  const chain = await startDevChain({ pollingIntervalMs: 50 });
  const { node } = chain;
  try {
    const { publicClient, walletClient: wallet } = chain.clientsOf(chain.accounts.relayer);
    const anchorA = chain.deployment.custodyAnchor.toLowerCase() as Address;
    const anchorB = (await chain.deploy()).custodyAnchor.toLowerCase() as Address;
    const tree = makeTree(TREE_SIZE);

    const anchorHead = async (
      contract: Address,
      headIndex: number,
      size: number,
      proof: Hex[],
    ): Promise<ReceiptAnchor> => {
      const rootHash = tree.root(size);
      const txHash = await wallet.writeContract({
        address: contract,
        abi: custodyAnchorAbi,
        functionName: "anchor",
        args: [BigInt(size), rootHash, proof, `0x${"00".repeat(32)}`],
      });
      const rcpt = await publicClient.waitForTransactionReceipt({ hash: txHash });
      if (rcpt.status !== "success") throw new Error(`anchoring head ${headIndex} reverted`);
      const block = await publicClient.getBlock({ blockNumber: rcpt.blockNumber });
      return {
        chainId: node.chainId,
        contract,
        headIndex,
        treeSize: size,
        rootHash,
        txHash,
        blockNumber: Number(rcpt.blockNumber),
        timestamp: Number(block.timestamp),
      };
    };
    const headsA = [
      await anchorHead(anchorA, 0, FIRST_HEAD_SIZE, []),
      await anchorHead(anchorA, 1, TREE_SIZE, consistencyProof(tree, FIRST_HEAD_SIZE, TREE_SIZE)),
    ];
    const headB = await anchorHead(anchorB, 0, TREE_SIZE, []);

    return {
      node,
      dev: chain,
      rpcUrl: node.rpcUrl,
      chainId: node.chainId,
      tree,
      anchorA,
      anchorB,
      headsA,
      headB,
      receipt: (index, anchor) =>
        createReceipt({
          entry: tree.entries[index],
          anchor,
          inclusionProof: tree.proof(index, anchor.treeSize),
          issuedAt: new Date(anchor.timestamp * 1000 + 1000),
          context: { transferId: `transfer-${index}`, account: `user-${index % 3}` },
        }),
      stop: () => node.stop(),
    };
  } catch (err) {
    await node.stop();
    throw err;
  }
}
