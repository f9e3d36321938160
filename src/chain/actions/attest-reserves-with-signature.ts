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

export interface AttestReservesWithSignatureParameters {
  address: Address;
  asset: string;
  dayNumber: number;
  reserves: bigint;
  statementHash: Hex;
  /** The custodian's EIP-712 signature (see signReservesAttestation). */
  signature: Hex;
}

/** Submits a custodian-signed attestation from any key (the relayer's); returns the mined tx hash. */
export async function attestReservesWithSignature(
  clients: { walletClient: WalletClient<Transport, Chain, Account>; publicClient: PublicClient },
  p: AttestReservesWithSignatureParameters,
): Promise<Hex> {
  const { request } = await clients.publicClient.simulateContract({
    account: clients.walletClient.account,
    address: p.address,
    abi: custodySolvencyAbi,
    functionName: "attestReservesWithSignature",
    args: [stringToHex(p.asset, { size: 32 }), p.dayNumber, p.reserves, p.statementHash, p.signature],
  });
  const hash = await clients.walletClient.writeContract(request);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SolvencyTransactionError(`attestReservesWithSignature reverted`, { details: hash });
  return hash;
}
