import {
  stringToHex,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { custodySolvencyAbi } from "../generated/abi";
import { SolvencyTransactionError } from "./solvency-errors";

export interface AttestReservesParameters {
  address: Address;
  asset: string;
  /** Days since 1970-01-01 (UTC). */
  dayNumber: number;
  reserves: bigint;
  /** SHA-256 of the bank statement the closing balance comes from. */
  statementHash: Hex;
}
export type AttestReservesReturnType = Hex;

/** CustodySolvency.attestReserves from the custodian's own CUSTODIAN_ROLE key; returns the mined tx hash. */
export async function attestReserves(
  clients: { walletClient: WalletClient<Transport, Chain, Account>; publicClient: PublicClient },
  p: AttestReservesParameters,
): Promise<AttestReservesReturnType> {
  const { request } = await clients.publicClient.simulateContract({
    account: clients.walletClient.account,
    address: p.address,
    abi: custodySolvencyAbi,
    functionName: "attestReserves",
    args: [stringToHex(p.asset, { size: 32 }), p.dayNumber, p.reserves, p.statementHash],
  });
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SolvencyTransactionError(`attestReserves reverted`, { details: hash });
  return hash;
}
