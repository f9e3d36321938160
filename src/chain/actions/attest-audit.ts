import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { AuditAttestationError } from "../errors";
import { custodyAnchorAbi } from "../generated/abi";

export interface AttestAuditParameters {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  custodyAnchor: Address;
  headIndex: number;
  reportHash: Hex;
  passed: boolean;
}

/**
 * Records the audit on chain: `CustodyAnchor.attest(headIndex, reportHash, passed)` signed by the
 * auditor (AUDITOR_ROLE). Waits for the receipt; returns the transaction hash.
 */
export async function attestAudit(p: AttestAuditParameters): Promise<Hex> {
  let hash: Hex;
  try {
    const { request } = await p.publicClient.simulateContract({
      address: p.custodyAnchor,
      abi: custodyAnchorAbi,
      functionName: "attest",
      args: [BigInt(p.headIndex), p.reportHash, p.passed],
      account: p.walletClient.account,
    });
    hash = await p.walletClient.writeContract(request);
  } catch (cause) {
    const m = /CustodyAnchor[A-Za-z]+|AccessControlUnauthorizedAccount/.exec(
      String((cause as Error).message),
    );
    throw new AuditAttestationError(`the chain refused the attestation of head ${p.headIndex}`, {
      details: m ? m[0] : (cause as Error).message.split("\n")[0],
      cause,
    });
  }
  const receipt = await p.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new AuditAttestationError(`attestation transaction ${hash} reverted`);
  return hash;
}
