import type { Address, PublicClient } from "viem";
import { CustodyError } from "../errors";
import { ROLE_IDS } from "./deployment";
import { custodyAnchorAbi, custodyEscrowAbi } from "./generated/abi";

/** A role one of the contracts requires of an account, e.g. the relayer's ANCHORER_ROLE on CustodyAnchor. */
export interface RequiredRole {
  contract: "CustodyAnchor" | "CustodyEscrow";
  address: Address;
  role: keyof typeof ROLE_IDS;
}

/** An account lacks a role it needs; the message names the account, the role and the contract. */
export class RoleMissingError extends CustodyError {
  override name = "RoleMissingError";
  readonly account: Address;
  readonly missing: readonly RequiredRole[];
  constructor(account: Address, missing: readonly RequiredRole[], opts: { cause?: unknown } = {}) {
    super(
      "ROLE_MISSING",
      `account ${account} lacks ${missing.map((m) => `${m.role} on ${m.contract} ${m.address}`).join(" and ")}`,
      { details: "grant the role with the admin key (grantRole), or use a key that holds it", ...opts },
    );
    this.account = account;
    this.missing = missing;
  }
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
