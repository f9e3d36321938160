import {
  BaseError,
  ContractFunctionRevertedError,
  TransactionReceiptNotFoundError,
  createPublicClient,
  http,
  parseEventLogs,
  type Address,
  type PublicClient,
} from "viem";
import { CustodyError } from "../errors";
import { readHead } from "../chain/actions/read-head";
import { readHeadCount } from "../chain/actions/read-head-count";
import { verifyInclusionOnChain } from "../chain/actions/verify-inclusion-on-chain";
import { custodyAnchorAbi } from "../chain/generated/abi";
import type { LeafProof } from "../protocol/receipt-v1";
import { checkReceiptFormat, verifyLeafProofOffline, verifyReceiptOffline } from "./receipt";
import {
  mergeVerdicts,
  verdictOf,
  type VerifiedHead,
  type VerificationCheck,
  type VerificationResult,
} from "./result";

/**
 * On-chain verification of receipts and leaf proofs: reads the anchored head from the CustodyAnchor
 * contract through any EVM JSON-RPC endpoint and trusts nothing else. Browser-safe (viem only).
 */

/** The chain could not be read (RPC unreachable, timed out, answered garbage): no verdict is possible. */
export class ChainReadError extends CustodyError {
  override name = "ChainReadError";
  constructor(message: string, opts: { details?: string; cause?: unknown } = {}) {
    super("CHAIN_UNAVAILABLE", message, opts);
  }
}

export interface VerifyOnChainOptions {
  /** A viem public client; or give `rpcUrl`. */
  publicClient?: PublicClient;
  /** JSON-RPC endpoint of a node of the chain, when no client is given. */
  rpcUrl?: string;
  /** The CustodyAnchor the verifier trusts; a receipt naming another contract is rejected. */
  expectedContract?: Address;
  /** The chain the verifier trusts; checked against both the RPC and the receipt. */
  expectedChainId?: number;
}

function clientOf(opts: VerifyOnChainOptions): PublicClient {
  if (opts.publicClient) return opts.publicClient;
  if (!opts.rpcUrl)
    throw new ChainReadError("no RPC endpoint given", { details: "pass publicClient or rpcUrl" });
  return createPublicClient({ transport: http(opts.rpcUrl, { retryCount: 1, timeout: 15_000 }) });
}

function isRevert(err: unknown): boolean {
  return err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
}

function revertReason(err: unknown): string {
  const r = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  return r instanceof ContractFunctionRevertedError
    ? (r.data?.errorName ?? r.reason ?? r.shortMessage)
    : "reverted";
}

async function read<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (isRevert(cause) || cause instanceof TransactionReceiptNotFoundError) throw cause;
    throw new ChainReadError(`could not read ${what} from the chain`, {
      details: cause instanceof BaseError ? cause.shortMessage : String(cause),
      cause,
    });
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Checks the anchor of a receipt or a leaf proof against the chain: the chain id, the expected
 * contract, that code exists there, that head `anchor.headIndex` holds exactly the receipt's tree size,
 * root, block and time, that `anchor.txHash` emitted that head, and that the contract itself accepts
 * the inclusion proof. Stops at the first check that makes later reads meaningless (another chain,
 * another contract, no code, no such head).
 *
 * Throws ChainReadError when the RPC cannot be read; a bad receipt never throws.
 *
 * @example
 * const verdict = await verifyAnchorOnChain(proof, { rpcUrl, expectedContract });
 */
export async function verifyAnchorOnChain(
  proof: LeafProof,
  opts: VerifyOnChainOptions,
): Promise<VerificationResult> {
  const { anchor } = proof;
  const checks: VerificationCheck[] = [];
  const done = (head?: VerifiedHead) => verdictOf(checks, head);

  if (opts.expectedContract !== undefined) {
    const ok = same(anchor.contract, opts.expectedContract);
    checks.push({
      name: "expectedContract",
      ok,
      detail: ok
        ? `anchored by the expected contract ${anchor.contract}`
        : `the receipt was anchored by contract ${anchor.contract}, not by the expected contract ${opts.expectedContract.toLowerCase()}`,
    });
    if (!ok) return done();
  }

  const client = clientOf(opts);
  const rpcChainId = await read("the chain id", () => client.getChainId());
  const chainOk = rpcChainId === anchor.chainId && (opts.expectedChainId ?? rpcChainId) === rpcChainId;
  checks.push({
    name: "chainId",
    ok: chainOk,
    detail: chainOk
      ? `the RPC serves chain ${rpcChainId}, as the receipt says`
      : opts.expectedChainId !== undefined && opts.expectedChainId !== rpcChainId
        ? `the RPC serves chain ${rpcChainId}, but chain ${opts.expectedChainId} is expected`
        : `the receipt names chain ${anchor.chainId}, but the RPC serves chain ${rpcChainId}`,
  });
  if (!chainOk) return done();

  const contract = anchor.contract;
  const code = await read("the contract code", () => client.getCode({ address: contract }));
  const hasCode = code !== undefined && code !== "0x";
  checks.push({
    name: "contractCode",
    ok: hasCode,
    detail: hasCode
      ? `contract code exists at ${contract}`
      : `there is no contract at ${contract} on chain ${rpcChainId}`,
  });
  if (!hasCode) return done();

  let headCount: number;
  try {
    headCount = await read("the head count", () => readHeadCount(client, contract));
  } catch (err) {
    if (!isRevert(err)) throw err;
    checks.push({
      name: "anchoredHead",
      ok: false,
      detail: `the contract at ${contract} is not a CustodyAnchor (headCount reverted: ${revertReason(err)})`,
    });
    return done();
  }
  if (anchor.headIndex >= headCount) {
    checks.push({
      name: "anchoredHead",
      ok: false,
      detail: `head #${anchor.headIndex} was never anchored: the contract holds ${headCount} heads`,
    });
    return done();
  }
  const head: VerifiedHead = {
    chainId: rpcChainId,
    contract,
    ...(await read("the anchored head", () => readHead(client, contract, anchor.headIndex))),
  };
  const diffs: string[] = [];
  if (head.treeSize !== anchor.treeSize)
    diffs.push(`tree size ${head.treeSize} (receipt: ${anchor.treeSize})`);
  if (head.rootHash !== anchor.rootHash) diffs.push(`root ${head.rootHash} (receipt: ${anchor.rootHash})`);
  if (head.blockNumber !== anchor.blockNumber)
    diffs.push(`block ${head.blockNumber} (receipt: ${anchor.blockNumber})`);
  if (head.blockTimestamp !== anchor.timestamp)
    diffs.push(`time ${head.blockTimestamp} (receipt: ${anchor.timestamp})`);
  checks.push({
    name: "anchoredHead",
    ok: diffs.length === 0,
    detail:
      diffs.length === 0
        ? `head #${head.headIndex} on chain has tree size ${head.treeSize} and root ${head.rootHash}`
        : `head #${head.headIndex} on chain differs from the receipt: ${diffs.join("; ")}`,
  });

  checks.push(await checkAnchorTransaction(client, proof));

  let included: boolean;
  let why = "";
  try {
    included = await read("the on-chain inclusion check", () =>
      verifyInclusionOnChain(client, contract, {
        headIndex: anchor.headIndex,
        leafIndex: proof.leafIndex,
        leafHash: proof.leafHash,
        proof: proof.inclusionProof,
      }),
    );
  } catch (err) {
    if (!isRevert(err)) throw err;
    included = false;
    why = ` (reverted: ${revertReason(err)})`;
  }
  checks.push({
    name: "onChainInclusion",
    ok: included,
    detail: included
      ? `the contract confirms leaf ${proof.leafIndex} is in head #${anchor.headIndex}`
      : `the contract rejects the inclusion proof of leaf ${proof.leafIndex} in head #${anchor.headIndex}${why}`,
  });
  return done(head);
}

async function checkAnchorTransaction(client: PublicClient, proof: LeafProof): Promise<VerificationCheck> {
  const { anchor } = proof;
  const fail = (detail: string): VerificationCheck => ({ name: "anchorTransaction", ok: false, detail });
  let receipt;
  try {
    receipt = await read("the anchoring transaction", () =>
      client.getTransactionReceipt({ hash: anchor.txHash }),
    );
  } catch (err) {
    if (err instanceof TransactionReceiptNotFoundError)
      return fail(`transaction ${anchor.txHash} is not on the chain`);
    throw err;
  }
  if (receipt.status !== "success") return fail(`transaction ${anchor.txHash} reverted`);
  const events = parseEventLogs({
    abi: custodyAnchorAbi,
    eventName: "HeadAnchored",
    logs: receipt.logs.filter((l) => same(l.address, anchor.contract)),
  });
  const match = events.find(
    (e) =>
      e.args.headIndex === BigInt(anchor.headIndex) &&
      e.args.treeSize === BigInt(anchor.treeSize) &&
      same(e.args.rootHash, anchor.rootHash),
  );
  if (!match)
    return fail(`transaction ${anchor.txHash} did not anchor head #${anchor.headIndex} of this receipt`);
  if (Number(receipt.blockNumber) !== anchor.blockNumber)
    return fail(`transaction ${anchor.txHash} is in block ${receipt.blockNumber}, not ${anchor.blockNumber}`);
  return {
    name: "anchorTransaction",
    ok: true,
    detail: `transaction ${anchor.txHash} anchored head #${anchor.headIndex} in block ${receipt.blockNumber}`,
  };
}

/**
 * On-chain part of receipt verification (format check included). Prefer `verifyReceipt`, which also
 * runs the offline checks.
 */
export async function verifyReceiptOnChain(
  input: unknown,
  opts: VerifyOnChainOptions,
): Promise<VerificationResult> {
  const { receipt, check } = checkReceiptFormat(input);
  if (!receipt) return verdictOf([check]);
  return verifyAnchorOnChain(receipt, opts);
}

/**
 * Full verification of a receipt: the offline checks (form, index, leaf hash, inclusion proof) then
 * the on-chain ones; one verdict listing every check, with the first failing reason.
 * Throws ChainReadError only when the chain cannot be read.
 *
 * @example
 * const verdict = await verifyReceipt(JSON.parse(text), { rpcUrl: "http://127.0.0.1:8545", expectedContract });
 * if (!verdict.ok) console.error(verdict.reason);
 */
export async function verifyReceipt(input: unknown, opts: VerifyOnChainOptions): Promise<VerificationResult> {
  const offline = verifyReceiptOffline(input);
  const { receipt } = checkReceiptFormat(input);
  if (!receipt) return offline;
  return mergeVerdicts(offline, await verifyAnchorOnChain(receipt, opts));
}

/**
 * Full verification of a leaf proof (a receipt without its entry, as served by hash): the inclusion
 * proof offline, then the anchor on chain.
 */
export async function verifyLeafProof(
  proof: LeafProof,
  opts: VerifyOnChainOptions,
): Promise<VerificationResult> {
  return mergeVerdicts(verifyLeafProofOffline(proof), await verifyAnchorOnChain(proof, opts));
}
