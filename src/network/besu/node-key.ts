import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

/** A Besu node key: its address is the QBFT validator address, its public key the enode id. */
export interface BesuNodeKey {
  /** 0x + 64 hex digits. Written to the node's `key` file (0600) and nowhere else. */
  privateKey: Hex;
  address: Address;
  /** The uncompressed public key without its 0x04 prefix: 64 bytes, 128 hex digits (no 0x). */
  enodeId: string;
}

/** Generates a secp256k1 node key from the platform's CSPRNG (viem / @noble). */
export function generateNodeKey(): BesuNodeKey {
  return nodeKeyFromPrivateKey(generatePrivateKey());
}

export function nodeKeyFromPrivateKey(privateKey: Hex): BesuNodeKey {
  const account = privateKeyToAccount(privateKey);
  return {
    privateKey,
    address: account.address.toLowerCase() as Address,
    enodeId: account.publicKey.slice(4),
  };
}

/** `enode://<id>@<host>:<port>` (Besu's node URL; a host must be an IP unless DNS is enabled). */
export function enodeUrl(key: Pick<BesuNodeKey, "enodeId">, host: string, port: number): string {
  return `enode://${key.enodeId}@${host}:${port}`;
}
