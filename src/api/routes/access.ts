import { CustodyError } from "../../errors";
import type { ApiPrincipal } from "../auth/keys";
import { NotFoundError } from "../errors";

/**
 * Scope checks for account holders. Outside its scope a holder is told "not found", exactly as for
 * an id that does not exist, so a holder cannot even learn which ids exist.
 */
export function canSeeAccounts(
  principal: ApiPrincipal | undefined,
  accountIds: readonly (string | undefined)[],
) {
  if (!principal) return false;
  if (principal.role !== "holder") return true;
  return accountIds.some((id) => id !== undefined && principal.accounts.includes(id));
}

export function requireScope(
  principal: ApiPrincipal | undefined,
  accountIds: readonly (string | undefined)[],
  what: string,
): void {
  if (!canSeeAccounts(principal, accountIds)) throw new NotFoundError(`${what} not found`);
}

const UNKNOWN_CODES = new Set(["UNKNOWN_ACCOUNT", "UNKNOWN_TRANSFER", "UNKNOWN_HOLD"]);

/**
 * A ledger lookup for a read route: "unknown id" becomes the same NOT_FOUND as "outside the
 * holder's scope", so the two cannot be told apart.
 */
export async function findOrNotFound<T>(
  lookup: () => Promise<T | undefined> | T | undefined,
  what: string,
): Promise<T> {
  let found: T | undefined;
  try {
    found = await lookup();
  } catch (e) {
    if (e instanceof CustodyError && UNKNOWN_CODES.has(e.code)) throw new NotFoundError(`${what} not found`);
    throw e;
  }
  if (found === undefined) throw new NotFoundError(`${what} not found`);
  return found;
}
