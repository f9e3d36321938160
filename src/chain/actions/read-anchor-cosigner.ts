import { zeroAddress, type Address, type PublicClient } from "viem";
import { custodyAnchorAbi } from "../generated/abi";

/**
 * The cosigner a CustodyAnchor was deployed with (`cosigner()`), or the zero address when it has
 * none and heads go through plain `anchor`. Contracts older than 1.2.0 have no `cosigner()` (nodes
 * report that revert in different ways), so `VERSION()` is read first and they count as having none.
 * Any failure to read (RPC down) is thrown.
 */
export async function readAnchorCosigner(client: PublicClient, address: Address): Promise<Address> {
  const version = await client.readContract({ address, abi: custodyAnchorAbi, functionName: "VERSION" });
  const m = /^(\d+)\.(\d+)\./.exec(version);
  if (m && (Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 2))) return zeroAddress;
  return client.readContract({ address, abi: custodyAnchorAbi, functionName: "cosigner" });
}
