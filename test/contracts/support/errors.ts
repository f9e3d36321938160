import { expect } from "chai";
import type { BaseContract } from "ethers";

/** The revert data (0x...) carried somewhere in an ethers/Hardhat error, if any. */
function revertData(err: unknown, depth = 0): string | undefined {
  if (depth > 6 || err === null || typeof err !== "object") return undefined;
  const e = err as Record<string, unknown>;
  for (const key of ["data", "error", "info", "cause"]) {
    const v = e[key];
    if (typeof v === "string" && /^0x[0-9a-fA-F]{8}/.test(v)) return v;
    const nested = revertData(v, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}

/** Placeholder in expected error arguments: any value matches. */
export const ANY = Symbol("any");

/**
 * Asserts that `action` reverts with the custom error `name` of `contract` and, if given, exactly `args`.
 */
export async function expectRevert(
  action: Promise<unknown>,
  contract: BaseContract,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  let error: unknown;
  try {
    await action;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a revert with ${name}`).to.not.equal(undefined);
  const data = revertData(error);
  expect(data, `no revert data in: ${String(error)}`).to.be.a("string");
  const parsed = contract.interface.parseError(data!);
  expect(parsed?.name, `revert data ${data}`).to.equal(name);
  if (args) {
    const actual = normalise(parsed!.args.toArray());
    const expected = normalise([...args]).map((v, i) => (v === ANY ? actual[i] : v));
    expect(actual, name).to.deep.equal(expected);
  }
}

function normalise(values: unknown[]): unknown[] {
  return values.map((v) => (typeof v === "number" ? BigInt(v) : typeof v === "string" ? v.toLowerCase() : v));
}
