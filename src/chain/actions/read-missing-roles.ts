import type { Address, PublicClient } from "viem";
import { ROLE_IDS } from "../deployment";
import { RoleMissingError } from "../errors";
import { custodyAnchorAbi, custodyEscrowAbi } from "../generated/abi";

export { RoleMissingError };

/** A role one of the contracts requires of an account, e.g. the relayer's ANCHORER_ROLE on CustodyAnchor. */
export interface RequiredRole {
  contract: "CustodyAnchor" | "CustodyEscrow";
  address: Address;
  role: keyof typeof ROLE_IDS;
}

/**
 * The roles in `required` that `account` does not hold (an empty list when it holds them all),
 * read with `hasRole` at the latest block.
 */
export async function missingRoles(
  client: PublicClient,
  account: Address,
  required: readonly RequiredRole[],
): Promise<RequiredRole[]> {
  const held = await Promise.all(
    required.map((r) =>
      client.readContract({
        address: r.address,
        abi: r.contract === "CustodyAnchor" ? custodyAnchorAbi : custodyEscrowAbi,
        functionName: "hasRole",
        args: [ROLE_IDS[r.role], account],
      }),
    ),
  );
  return required.filter((_, i) => !held[i]);
}

/** Throws {@link RoleMissingError} unless `account` holds every role in `required`. */
export async function requireRoles(
  client: PublicClient,
  account: Address,
  required: readonly RequiredRole[],
): Promise<void> {
  const missing = await missingRoles(client, account, required);
  if (missing.length) throw new RoleMissingError(account, missing);
}
