import {
  type Abi,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  toFunctionSelector,
} from "viem";
import { formatAbiItem } from "viem/utils";
import { custodyAnchorAbi, custodyEscrowAbi } from "./generated/abi";

/**
 * Every custom error the contracts can revert with: their own and the inherited OpenZeppelin
 * ones (AccessControlUnauthorizedAccount, EnforcedPause, …), which the compiled ABIs include.
 */
const ERROR_ABI: Abi = (() => {
  const seen = new Set<string>();
  const out: Abi[number][] = [];
  for (const item of [...custodyAnchorAbi, ...custodyEscrowAbi] as Abi) {
    if (item.type !== "error") continue;
    const sig = formatAbiItem(item);
    if (seen.has(sig)) continue;
    seen.add(sig);
    out.push(item);
  }
  return out;
})();

const BY_SELECTOR = new Map<string, string>(
  ERROR_ABI.map((e) => [toFunctionSelector(formatAbiItem(e)).toLowerCase(), formatAbiItem(e)]),
);

export interface DecodedRevert {
  errorName: string;
  /** Arguments as strings (bigints in decimal), empty when only the selector was available. */
  args: string[];
  /** `Name(arg, …)`, or the error's signature when the arguments are unknown. */
  text: string;
}

function fromData(data: Hex): DecodedRevert | undefined {
  try {
    const r = decodeErrorResult({ abi: ERROR_ABI, data });
    const args = (r.args ?? []).map((a) => String(a));
    return { errorName: r.errorName, args, text: `${r.errorName}(${args.join(", ")})` };
  } catch {
    const sig = BY_SELECTOR.get(data.slice(0, 10).toLowerCase());
    return sig ? { errorName: sig.slice(0, sig.indexOf("(")), args: [], text: sig } : undefined;
  }
}

/**
 * Decodes a contract revert found anywhere in an error's cause chain with the contracts' ABIs.
 * Nodes differ in where they put the revert data (a `data` field on the RPC error, or only
 * "custom error 0x…" in the message), so each place is tried.
 */
export function decodeRevert(e: unknown): DecodedRevert | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur && typeof cur === "object" && !seen.has(cur)) {
    seen.add(cur);
    if (cur instanceof ContractFunctionRevertedError && cur.data?.errorName) {
      const args = (cur.data.args ?? []).map((a) => String(a));
      return { errorName: cur.data.errorName, args, text: `${cur.data.errorName}(${args.join(", ")})` };
    }
    for (const d of [(cur as { data?: unknown }).data, (cur as { raw?: unknown }).raw]) {
      const hex =
        typeof d === "string"
          ? d
          : typeof (d as { data?: unknown })?.data === "string"
            ? (d as { data: string }).data
            : "";
      if (/^0x[0-9a-fA-F]{8}/.test(hex)) {
        const r = fromData(hex as Hex);
        if (r) return r;
      }
    }
    const msg = (cur as { message?: unknown }).message;
    if (typeof msg === "string") {
      for (const m of msg.matchAll(/0x[0-9a-fA-F]{8,}/g)) {
        const r = fromData(m[0] as Hex);
        if (r) return r;
      }
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The custom error name a contract call reverted with (e.g. `CustodyEscrowNotFound`), or undefined
 * when `e` is not a revert.
 */
export function revertErrorName(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (r?.data?.errorName) return r.data.errorName;
  return decodeRevert(e)?.errorName ?? /Custody(?:Anchor|Escrow)[A-Za-z]+/.exec(e.message)?.[0];
}

/** One line for an operator: the decoded revert when there is one, else the error's first line. */
export function describeError(e: unknown): string {
  const first = e instanceof Error ? e.message.split("\n")[0]! : String(e);
  const r = decodeRevert(e);
  return r ? `${r.text}: ${first}` : first;
}
