import { isAddressEqual, recoverTypedDataAddress, type Address, type Hex } from "viem";
import { formatCheckpoint } from "../protocol/checkpoint";
import { type NoteSigner, signNote } from "../protocol/note";
import {
  type AnchorCosignatureResponse,
  anchorCosignatureMessageOf,
  anchorCosignatureTypedData,
  formatAnchorCosignatureRequest,
} from "../protocol/anchor-cosignature";
import { RelayerCosignatureError } from "./errors";

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** Where the relayer gets the custodian's cosignature of each head before anchoring it (opt-in). */
export interface AnchorCosignerOptions {
  /** The custodian witness's base URL: `<url>/anchor-cosignature` is posted to. */
  url: string;
  /** The log's checkpoint signer (the witness checks the log key's signature). */
  signer: NoteSigner;
  /** The log's origin (checkpoint first line). */
  origin: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface NextHead {
  chainId: number;
  contract: Address;
  /** The contract's cosigner, read from the chain: the signature must recover to it. */
  cosigner: Address;
  /** Index the head will get, and the chain's latest size (0 before the first head). */
  headIndex: number;
  previousSize: number;
  treeSize: number;
  rootHash: Hex;
  proof: readonly Hex[];
  metadataHash: Hex;
}

/**
 * Asks the cosigner for its EIP-712 signature of `head` and returns it, after checking that the
 * answer signs exactly this head, chain and contract and recovers to the contract's cosigner.
 * Throws {@link RelayerCosignatureError} otherwise.
 */
export async function requestAnchorCosignature(o: AnchorCosignerOptions, head: NextHead): Promise<Hex> {
  const checkpoint = signNote(
    formatCheckpoint({ origin: o.origin, size: head.treeSize, rootHash: head.rootHash.toLowerCase() as Hex }),
    [o.signer],
  );
  const url = `${o.url.replace(/\/$/, "")}/anchor-cosignature`;
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: formatAnchorCosignatureRequest({
        oldSize: head.previousSize,
        proof: [...head.proof],
        checkpoint,
        metadataHash: head.metadataHash,
      }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new RelayerCosignatureError(`anchor cosigner ${url} unreachable`, {
      details: String(cause),
      cause,
    });
  }
  const body = await res.text();
  if (res.status !== 200)
    throw new RelayerCosignatureError(`anchor cosigner refused head of size ${head.treeSize}`, {
      details: `${res.status}: ${body.trim().slice(0, 300)}`,
    });
  let r: AnchorCosignatureResponse;
  try {
    r = JSON.parse(body) as AnchorCosignatureResponse;
  } catch {
    throw new RelayerCosignatureError("anchor cosigner answered with something other than JSON");
  }
  const m = anchorCosignatureMessageOfSafe(r);
  const want = {
    chainId: head.chainId,
    contract: head.contract.toLowerCase(),
    headIndex: BigInt(head.headIndex),
    previousSize: BigInt(head.previousSize),
    newSize: BigInt(head.treeSize),
    newRoot: head.rootHash.toLowerCase(),
    metadataHash: head.metadataHash.toLowerCase(),
  };
  const got = {
    chainId: m.chainId,
    contract: m.contract.toLowerCase(),
    headIndex: m.headIndex,
    previousSize: m.previousSize,
    newSize: m.newSize,
    newRoot: m.newRoot.toLowerCase(),
    metadataHash: m.metadataHash.toLowerCase(),
  };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== got[k])
      throw new RelayerCosignatureError(`anchor cosigner signed another ${k}`, {
        details: `asked ${String(want[k])}, signed ${String(got[k])}`,
      });
  }
  if (typeof r.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(r.signature))
    throw new RelayerCosignatureError("anchor cosigner's signature is not 65 bytes of hex");
  // The contract takes only low s and v 27/28 (no malleable twin): refuse here rather than spend gas.
  const s = BigInt(`0x${r.signature.slice(66, 130)}`);
  const v = parseInt(r.signature.slice(130, 132), 16);
  if (s > SECP256K1_HALF_N || (v !== 27 && v !== 28))
    throw new RelayerCosignatureError(
      "anchor cosigner's signature is not canonical (high s, or v not 27/28)",
    );
  const signer = await recoverTypedDataAddress({
    ...anchorCosignatureTypedData(m),
    signature: r.signature,
  }).catch(() => undefined);
  if (!signer || !isAddressEqual(signer, head.cosigner))
    throw new RelayerCosignatureError("the cosignature is not by the contract's cosigner", {
      details: `recovered ${signer ?? "nothing"}, contract cosigner ${head.cosigner}`,
    });
  return r.signature;
}

function anchorCosignatureMessageOfSafe(r: AnchorCosignatureResponse) {
  try {
    return anchorCosignatureMessageOf(r);
  } catch (cause) {
    throw new RelayerCosignatureError("anchor cosigner's answer is malformed", {
      details: String(cause),
      cause,
    });
  }
}
