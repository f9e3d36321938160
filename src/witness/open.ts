import fs from "node:fs";
import { isHex, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { SIG_TYPE_COSIGNATURE_V1, parseSignerKey } from "../protocol/note";
import { loadTrustPolicy } from "../protocol/trust-policy";
import { anchorChainView, chainHeadLookup } from "./chain-heads";
import { WitnessStateError } from "./errors";
import { WitnessStateFile } from "./state";
import { Witness, type WitnessFaultHook } from "./witness";

export interface OpenWitnessParameters {
  /** File holding the witness key: "PRIVATE+KEY+<name>+<id>+base64(0x04 ‖ seed)" (docs/witness.md). */
  keyFile: string;
  /** Trust policy file naming the log (origin, key) and the anchor contract and chain. */
  policyFile: string;
  stateFile: string;
  /**
   * Opt-in: file (mode 0600) holding the secp256k1 private key, 0x + 64 hex digits, with which this
   * witness cosigns heads before they are anchored (`POST /anchor-cosignature`). Never logged.
   */
  anchorKeyFile?: string;
  publicClient: PublicClient;
  now?: () => number;
  fault?: WitnessFaultHook;
}

function requirePrivateFile(file: string, what: string) {
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0)
    throw new WitnessStateError(`${what} ${file} is readable by others`, { details: "chmod 600 it" });
}

/** The anchor cosigning account from its key file; the error never quotes the file's content. */
export function loadAnchorKey(file: string) {
  requirePrivateFile(file, "witness anchor key file");
  const text = fs.readFileSync(file, "utf8").trim();
  if (!isHex(text, { strict: true }) || text.length !== 66)
    throw new WitnessStateError(`witness anchor key file ${file} must hold 0x and 64 hex digits`);
  try {
    return privateKeyToAccount(text);
  } catch {
    throw new WitnessStateError(`witness anchor key file ${file} does not hold a valid secp256k1 key`);
  }
}

/** Loads key, policy and state; checks the RPC serves the policy's chain. */
export async function openWitness(p: OpenWitnessParameters): Promise<Witness> {
  requirePrivateFile(p.keyFile, "witness key file");
  const key = parseSignerKey(fs.readFileSync(p.keyFile, "utf8"));
  if (key.sigType !== SIG_TYPE_COSIGNATURE_V1)
    throw new WitnessStateError("the witness key must be a cosignature/v1 key (type 0x04)");
  const policy = loadTrustPolicy(fs.readFileSync(p.policyFile, "utf8"));
  const chainId = await p.publicClient.getChainId();
  if (chainId !== policy.policy.chainId)
    throw new WitnessStateError(
      `the RPC serves chain ${chainId}, the policy names chain ${policy.policy.chainId}`,
    );
  return new Witness({
    key: { name: key.name, seed: key.seed },
    policy,
    state: new WitnessStateFile(p.stateFile),
    anchoredHead: chainHeadLookup(p.publicClient, policy.policy.anchorContract as Address),
    now: p.now,
    fault: p.fault,
    anchor: p.anchorKeyFile
      ? {
          account: loadAnchorKey(p.anchorKeyFile),
          chain: anchorChainView(p.publicClient, policy.policy.anchorContract as Address),
        }
      : undefined,
  });
}
