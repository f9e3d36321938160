import { BaseError, ContractFunctionRevertedError } from "viem";

/**
 * The custom error name a contract call reverted with (e.g. `CustodyEscrowNotFound`), or undefined
 * when `e` is not a revert. Gas estimation errors carry only raw revert data; for them the name is
 * matched in the message.
 */
export function revertErrorName(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (r?.data?.errorName) return r.data.errorName;
  return /Custody(?:Anchor|Escrow)[A-Za-z]+/.exec(e.message)?.[0];
}
