import { hexToString, parseEventLogs, type Address, type Hex, type PublicClient } from "viem";
import { custodySolvencyAbi } from "../generated/abi";

export type SolvencyEvent =
  | {
      kind: "ReservesAttested";
      asset: string;
      dayNumber: number;
      custodian: Address;
      reserves: bigint;
      statementHash: Hex;
      txHash: Hex;
      blockNumber: number;
      logIndex: number;
    }
  | {
      kind: "ReservesCovered" | "ReservesShortfall";
      asset: string;
      dayNumber: number;
      reserves: bigint;
      liabilities: bigint;
      txHash: Hex;
      blockNumber: number;
      logIndex: number;
    };

const asset = (b: Hex) => hexToString(b, { size: 32 }).replace(/\0+$/, "");

/** CustodySolvency's attestation and coverage events in blocks [fromBlock, toBlock], in chain order. */
export async function readSolvencyEvents(
  client: PublicClient,
  p: { address: Address; fromBlock: bigint; toBlock: bigint },
): Promise<SolvencyEvent[]> {
  const logs = await client.getLogs({ address: p.address, fromBlock: p.fromBlock, toBlock: p.toBlock });
  const parsed = parseEventLogs({ abi: custodySolvencyAbi, logs, strict: true });
  const out: SolvencyEvent[] = [];
  for (const l of parsed) {
    const where = { txHash: l.transactionHash, blockNumber: Number(l.blockNumber), logIndex: l.logIndex };
    if (l.eventName === "ReservesAttested")
      out.push({
        kind: "ReservesAttested",
        asset: asset(l.args.asset),
        dayNumber: l.args.day,
        custodian: l.args.custodian,
        reserves: l.args.reserves,
        statementHash: l.args.statementHash,
        ...where,
      });
    else if (l.eventName === "ReservesCovered" || l.eventName === "ReservesShortfall")
      out.push({
        kind: l.eventName,
        asset: asset(l.args.asset),
        dayNumber: l.args.day,
        reserves: l.args.reserves,
        liabilities: l.args.liabilities,
        ...where,
      });
  }
  return out;
}
