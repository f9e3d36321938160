import { type Address, type Hex, type PublicClient, createPublicClient, defineChain, http } from "viem";
import { findEscrow } from "../chain/actions/find-escrow";
import type { OnChainEscrow } from "../chain/actions/read-escrow";
import { readHead } from "../chain/actions/read-head";
import { readHeadCount } from "../chain/actions/read-head-count";
import type { AuditChainReader } from "./audit";
import { AuditChainError } from "./errors";
import type { AnchoredHead } from "../protocol/head";

const PARALLEL = 64;

async function inChunks<T, R>(items: readonly T[], f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL)
    out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map(f))));
  return out;
}

export interface ChainReaderParameters {
  rpcUrl: string;
  custodyAnchor: Address;
  custodyEscrow?: Address;
  /** The chain id the auditor expects; a node answering another is refused. */
  chainId?: number;
}

/**
 * Reads heads and escrows from the chain: the audit's only trusted input. Requests are batched
 * into JSON-RPC batches, so thousands of heads cost a few round trips.
 */
export async function chainReader(
  p: ChainReaderParameters,
): Promise<AuditChainReader & { client: PublicClient }> {
  const transport = http(p.rpcUrl, { batch: { batchSize: 100 }, retryCount: 3, timeout: 60_000 });
  const probe = createPublicClient({ transport });
  let chainId: number;
  try {
    chainId = await probe.getChainId();
  } catch (cause) {
    throw new AuditChainError(`cannot reach the chain at ${p.rpcUrl}`, {
      details: (cause as Error).message,
      cause,
    });
  }
  if (p.chainId !== undefined && p.chainId !== chainId)
    throw new AuditChainError(`the node at ${p.rpcUrl} serves chain ${chainId}, not ${p.chainId}`);
  const chain = defineChain({
    id: chainId,
    name: `custody-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [p.rpcUrl] } },
  });
  const client = createPublicClient({ chain, transport }) as PublicClient;
  const code = await client.getCode({ address: p.custodyAnchor }).catch((cause: Error) => {
    throw new AuditChainError(`cannot read the contract at ${p.custodyAnchor}`, {
      details: cause.message,
      cause,
    });
  });
  if (!code || code === "0x")
    throw new AuditChainError(`no contract at ${p.custodyAnchor} on chain ${chainId}`);
  const read = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (cause) {
      throw new AuditChainError(`cannot read ${what} from the chain`, {
        details: (cause as Error).message.split("\n")[0],
        cause,
      });
    }
  };
  return {
    client,
    chainId,
    custodyAnchor: p.custodyAnchor,
    custodyEscrow: p.custodyEscrow,
    blockNumber: () =>
      read("the block number", async () => Number(await client.getBlockNumber({ cacheTime: 0 }))),
    heads: () =>
      read("the anchored heads", async () => {
        const n = await readHeadCount(client, p.custodyAnchor);
        const idx = Array.from({ length: n }, (_, i) => i);
        return inChunks(idx, async (i): Promise<AnchoredHead> => readHead(client, p.custodyAnchor, i));
      }),
    escrows: async (ids) => {
      const out = new Map<Hex, OnChainEscrow | undefined>();
      if (!p.custodyEscrow) {
        if (ids.length)
          throw new AuditChainError("the ledger has escrow holds but no CustodyEscrow address was given", {
            details: "pass --escrow or --deployment",
          });
        return out;
      }
      const escrow = p.custodyEscrow;
      await read("the escrows", () =>
        inChunks(ids, async (id) => {
          out.set(id, await findEscrow(client, escrow, id));
        }),
      );
      return out;
    },
  };
}

export { attestAudit, type AttestAuditParameters } from "../chain/actions/attest-audit";
