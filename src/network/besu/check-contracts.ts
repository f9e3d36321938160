import { scanOpcodesNewerThan, type EvmFork } from "../../chain/evm-opcodes";
import {
  custodyAnchorBytecode,
  custodyEscrowBytecode,
  custodySolvencyBytecode,
} from "../../chain/generated/abi";
import { EvmForkMismatchError } from "../errors";

/** The creation bytecode `npm run deploy` sends (its init code runs on chain too). */
export const DEPLOYED_CONTRACTS = [
  { name: "CustodyAnchor", bytecode: custodyAnchorBytecode },
  { name: "CustodyEscrow", bytecode: custodyEscrowBytecode },
  { name: "CustodySolvency", bytecode: custodySolvencyBytecode },
] as const;

/**
 * Refuses a fork that cannot run the compiled contracts: names, per contract, each opcode the
 * fork lacks, how often it occurs and the fork that introduced it.
 */
export function assertContractsRunOn(fork: EvmFork): void {
  const problems: string[] = [];
  for (const c of DEPLOYED_CONTRACTS) {
    const counts = new Map<string, number>();
    for (const f of scanOpcodesNewerThan(c.bytecode, fork)) {
      const key = `${f.name} (${f.introducedIn ?? "no fork"})`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (counts.size > 0) problems.push(`${c.name}: ${[...counts].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  }
  if (problems.length > 0)
    throw new EvmForkMismatchError(`the compiled contracts use opcodes that ${fork} does not have`, {
      details: `${problems.join("; ")}. Pick a later fork (--evm), or build the contracts for ${fork} (docs/besu.md)`,
    });
}
