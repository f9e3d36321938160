import crypto from "node:crypto";
import fs from "node:fs";
import { bytesToHex, hexToBytes, keccak256, type Hex, type PrivateKeyAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { KeyUnavailableError } from "./errors";

export interface LoadSignerParameters {
  /** Name of an environment variable holding a 0x-prefixed 32-byte private key. Tried first. */
  envVar?: string;
  /** Path of an encrypted JSON keystore (Web3 Secret Storage v3, scrypt or pbkdf2). */
  keystorePath?: string;
  /** Password of the keystore. */
  password?: string;
}

const PRIVATE_KEY_RE = /^(0x)?[0-9a-fA-F]{64}$/;

/**
 * Loads the signing account from an environment variable or an encrypted keystore. Error messages
 * name the source but never include the key or the password.
 *
 * @example
 * const account = await loadSigner({ envVar: "CUSTODY_DEPLOYER_KEY", keystorePath: "key.json", password });
 */
export async function loadSigner(params: LoadSignerParameters): Promise<PrivateKeyAccount> {
  if (params.envVar) {
    const value = process.env[params.envVar];
    if (value !== undefined && value !== "") return accountFromPrivateKey(value.trim(), `$${params.envVar}`);
  }
  if (params.keystorePath) {
    let json: string;
    try {
      json = fs.readFileSync(params.keystorePath, "utf8");
    } catch (cause) {
      throw new KeyUnavailableError(`cannot read keystore ${params.keystorePath}`, {
        details: (cause as Error).message,
      });
    }
    if (params.password === undefined) {
      throw new KeyUnavailableError(`no password given for keystore ${params.keystorePath}`);
    }
    const key = decryptKeystore(json, params.password, params.keystorePath);
    return accountFromPrivateKey(key, params.keystorePath);
  }
  const tried = [params.envVar && `environment variable ${params.envVar} (unset)`, "no keystore path"]
    .filter(Boolean)
    .join(", ");
  throw new KeyUnavailableError("no signing key available", { details: `tried: ${tried}` });
}

function accountFromPrivateKey(value: string, source: string): PrivateKeyAccount {
  if (!PRIVATE_KEY_RE.test(value)) {
    throw new KeyUnavailableError(`the key from ${source} is not a 32-byte hex private key`, {
      details: `expected 64 hex digits with an optional 0x prefix, found ${value.length} characters`,
    });
  }
  const hex = (value.startsWith("0x") ? value : `0x${value}`).toLowerCase() as Hex;
  try {
    return privateKeyToAccount(hex);
  } catch {
    // The cause is dropped on purpose: library errors may echo the key.
    throw new KeyUnavailableError(`the key from ${source} is not a valid secp256k1 private key`);
  }
}

interface KeystoreV3 {
  version: number;
  crypto?: KeystoreCrypto;
  Crypto?: KeystoreCrypto;
}
interface KeystoreCrypto {
  cipher: string;
  ciphertext: string;
  cipherparams: { iv: string };
  kdf: string;
  kdfparams: {
    dklen: number;
    salt: string;
    n?: number;
    r?: number;
    p?: number;
    c?: number;
    prf?: string;
  };
  mac: string;
}

/** Web3 Secret Storage v3: derive the key, check the MAC (keccak256), decrypt aes-128-ctr. */
function decryptKeystore(json: string, password: string, source: string): Hex {
  let ks: KeystoreV3;
  try {
    ks = JSON.parse(json) as KeystoreV3;
  } catch {
    throw new KeyUnavailableError(`keystore ${source} is not JSON`);
  }
  const c = ks.crypto ?? ks.Crypto;
  if (ks.version !== 3 || !c || c.cipher !== "aes-128-ctr") {
    throw new KeyUnavailableError(`keystore ${source} is not a v3 aes-128-ctr keystore`);
  }
  const p = c.kdfparams;
  const salt = Buffer.from(p.salt.replace(/^0x/, ""), "hex");
  const pw = Buffer.from(password.normalize("NFKC"), "utf8");
  let derived: Buffer;
  if (c.kdf === "scrypt" && p.n && p.r && p.p) {
    derived = crypto.scryptSync(pw, salt, p.dklen, {
      N: p.n,
      r: p.r,
      p: p.p,
      maxmem: 256 * p.n * p.r + 1024 * 1024,
    });
  } else if (c.kdf === "pbkdf2" && p.c && p.prf === "hmac-sha256") {
    derived = crypto.pbkdf2Sync(pw, salt, p.c, p.dklen, "sha256");
  } else {
    throw new KeyUnavailableError(`keystore ${source} uses an unsupported key derivation (${c.kdf})`);
  }
  const ciphertext = hexToBytes(`0x${c.ciphertext.replace(/^0x/, "")}`);
  const mac = keccak256(new Uint8Array([...derived.subarray(16, 32), ...ciphertext]));
  if (mac.slice(2) !== c.mac.replace(/^0x/, "").toLowerCase()) {
    throw new KeyUnavailableError(`wrong password for keystore ${source}`);
  }
  const iv = Buffer.from(c.cipherparams.iv.replace(/^0x/, ""), "hex");
  const decipher = crypto.createDecipheriv("aes-128-ctr", derived.subarray(0, 16), iv);
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return bytesToHex(key);
}
