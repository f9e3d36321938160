import {
  BaseError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  zeroAddress,
  type Address,
  type PublicClient,
} from "viem";
import { custodyAnchorAbi } from "../generated/abi";

/**
 * The cosigner a CustodyAnchor was deployed with (`cosigner()`), or the zero address when it has
 * none and heads go through plain `anchor`, including contracts older than 1.2.0, which have no
 * `cosigner()` (the call reverts without data). Any other failure (RPC down) is thrown.
 */
export async function readAnchorCosigner(client: PublicClient, address: Address): Promise<Address> {
  try {
    return await client.readContract({ address, abi: custodyAnchorAbi, functionName: "cosigner" });
  } catch (e) {
    const missing =
      e instanceof BaseError &&
      e.walk(
        (c) => c instanceof ContractFunctionZeroDataError || c instanceof ContractFunctionRevertedError,
      ) !== null;
    if (missing) return zeroAddress;
    throw e;
  }
}
