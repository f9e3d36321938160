import { readFile } from "node:fs/promises";
import { isAddress, type Address } from "viem";
import { parsePseudonymKey } from "../ledger/pseudonym-key";
import { CliUsageError } from "./context";

/** The environment variable that holds the ledger's pseudonym key (hex), as the stack reads it. */
export const PSEUDONYM_KEY_ENV = "CUSTODY_PSEUDONYM_KEY";

/** The pseudonym key from `$<pseudonymKeyEnv>`, else from `pseudonymKeyFile`; undefined if neither is given. */
export async function readPseudonymKeyOption(o: {
  pseudonymKeyEnv: string;
  pseudonymKeyFile?: string;
}): Promise<Uint8Array | undefined> {
  const fromEnv = process.env[o.pseudonymKeyEnv];
  if (fromEnv) return parsePseudonymKey(fromEnv, `$${o.pseudonymKeyEnv}`);
  if (!o.pseudonymKeyFile) return undefined;
  let text: string;
  try {
    text = await readFile(o.pseudonymKeyFile, "utf8");
  } catch (err) {
    throw new CliUsageError(
      `cannot read ${o.pseudonymKeyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return parsePseudonymKey(text, o.pseudonymKeyFile);
}

/** Parses --contract: a 20-byte address (lower-case, or EIP-55 checksummed). */
export function parseContractOption(value: string | undefined): Address | undefined {
  if (value === undefined) return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(value) || !isAddress(value))
    throw new CliUsageError(
      `--contract must be a contract address (0x + 40 hex digits), got ${JSON.stringify(value)}`,
    );
  return value.toLowerCase() as Address;
}

/** Parses --chain-id: a positive integer. */
export function parseChainIdOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new CliUsageError(`--chain-id must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parses an http(s) URL option. */
export function parseUrlOption(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliUsageError(`${name} must be a URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliUsageError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  return value;
}
