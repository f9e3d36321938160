import { stringToHex, type Address, type Hex, type PublicClient } from "viem";
import { custodySolvencyAbi } from "../generated/abi";

export interface SolvencyDay {
  reserves?: { amount: bigint; statementHash: Hex };
  commitment?: { rootHash: Hex; rootSum: bigint; logSize: number; leafCount: number };
}

/** The attestation and commitment CustodySolvency holds for (asset, day); absent parts are undefined. */
export async function readSolvencyDay(
  client: PublicClient,
  p: { address: Address; asset: string; dayNumber: number },
): Promise<SolvencyDay> {
  const asset = stringToHex(p.asset, { size: 32 });
  const [r, c] = await Promise.all([
    client.readContract({
      address: p.address,
      abi: custodySolvencyAbi,
      functionName: "getReserves",
      args: [asset, p.dayNumber],
    }),
    client.readContract({
      address: p.address,
      abi: custodySolvencyAbi,
      functionName: "getCommitment",
      args: [asset, p.dayNumber],
    }),
  ]);
  const out: SolvencyDay = {};
  if (r.attested) out.reserves = { amount: r.amount, statementHash: r.statementHash.toLowerCase() as Hex };
  if (c.leafCount !== 0n)
    out.commitment = {
      rootHash: c.rootHash.toLowerCase() as Hex,
      rootSum: c.rootSum,
      logSize: Number(c.logSize),
      leafCount: Number(c.leafCount),
    };
  return out;
}
