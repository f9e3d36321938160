import { createPublicClient, getAddress, http, type Address, type PublicClient } from "viem";
import { readSolvencyDay, type SolvencyDay } from "../chain/actions/read-solvency-day";
import {
  balanceVerdictOf,
  verifyBalanceProofOffline,
  type BalanceCheck,
  type BalanceVerdict,
} from "../protocol/balance-proof-v1";
import { ChainReadError } from "./chain";

export interface VerifyBalanceProofOptions {
  publicClient?: PublicClient;
  rpcUrl?: string;
  /** The CustodySolvency the verifier trusts; a proof naming another contract is rejected. */
  expectedContract?: Address;
}

/**
 * Verifies a custody-balance-proof-v1 fully: the offline checks, then, from any node of the chain,
 * the snapshot's commitment (root, sum, log size, leaf count) and the custodian's attested reserves
 * for the same asset and day, which must cover the root sum. Browser-safe (viem only).
 * Throws {@link ChainReadError} only when the chain cannot be read at all.
 */
export async function verifyBalanceProof(
  raw: unknown,
  opts: VerifyBalanceProofOptions,
): Promise<BalanceVerdict & { chain?: SolvencyDay }> {
  const offline = verifyBalanceProofOffline(raw);
  if (!offline.verdict.ok || !offline.proof) return offline.verdict;
  const proof = offline.proof;
  const checks: BalanceCheck[] = [...offline.verdict.checks];
  const client =
    opts.publicClient ??
    (opts.rpcUrl
      ? createPublicClient({ transport: http(opts.rpcUrl, { retryCount: 1, timeout: 15_000 }) })
      : undefined);
  if (!client) throw new ChainReadError("no RPC endpoint given", { details: "pass publicClient or rpcUrl" });
  const json = proof.json;
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (cause) {
    throw new ChainReadError("cannot read the chain id", { details: (cause as Error).message, cause });
  }
  const contract = getAddress(json.chain.solvencyContract);
  const contractOk = !opts.expectedContract || getAddress(opts.expectedContract) === contract;
  const chainOk = chainId === json.chain.chainId && contractOk;
  checks.push({
    name: "chainId",
    ok: chainOk,
    detail: chainOk
      ? `chain ${chainId}, CustodySolvency ${contract}`
      : !contractOk
        ? `the proof names contract ${contract}, the verifier trusts ${opts.expectedContract}`
        : `the RPC serves chain ${chainId}, the proof names chain ${json.chain.chainId}`,
  });
  if (!chainOk) return balanceVerdictOf(checks);
  let day: SolvencyDay;
  try {
    day = await readSolvencyDay(client, {
      address: contract,
      asset: json.snapshot.asset,
      dayNumber: proof.dayNumber,
    });
  } catch (cause) {
    throw new ChainReadError(`cannot read CustodySolvency at ${contract}`, {
      details: (cause as Error).message,
      cause,
    });
  }
  const c = day.commitment;
  const s = json.snapshot;
  const commitOk =
    !!c &&
    c.rootHash === s.rootHash &&
    c.rootSum === proof.rootSum &&
    c.logSize === s.logSize &&
    c.leafCount === s.leafCount;
  checks.push({
    name: "commitment",
    ok: commitOk,
    detail: !c
      ? `no snapshot of ${s.asset} on ${s.day} is committed on chain`
      : commitOk
        ? `committed on chain: root ${c.rootHash}, sum ${c.rootSum}, log size ${c.logSize}, ${c.leafCount} leaves`
        : `on chain: root ${c.rootHash}, sum ${c.rootSum}, log size ${c.logSize}, ${c.leafCount} leaves; ` +
          `the proof: root ${s.rootHash}, sum ${s.rootSum}, log size ${s.logSize}, ${s.leafCount} leaves`,
  });
  if (!commitOk) return { ...balanceVerdictOf(checks), chain: day };
  const r = day.reserves;
  checks.push({
    name: "reservesAttested",
    ok: !!r,
    detail: r
      ? `the custodian attested ${r.amount} for ${s.asset} on ${s.day} (statement ${r.statementHash})`
      : `the custodian has not attested reserves of ${s.asset} for ${s.day}`,
  });
  if (!r) return { ...balanceVerdictOf(checks), chain: day };
  const covered = r.amount >= proof.rootSum;
  checks.push({
    name: "reservesCoverLiabilities",
    ok: covered,
    detail: covered
      ? `reserves ${r.amount} >= liabilities ${proof.rootSum}`
      : `reserves ${r.amount} < liabilities ${proof.rootSum}: shortfall of ${proof.rootSum - r.amount}`,
  });
  return { ...balanceVerdictOf(checks), chain: day };
}
