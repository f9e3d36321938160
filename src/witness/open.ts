import fs from "node:fs";
import type { Address, PublicClient } from "viem";
import { SIG_TYPE_COSIGNATURE_V1, parseSignerKey } from "../protocol/note";
import { loadTrustPolicy } from "../protocol/trust-policy";
import { chainHeadLookup } from "./chain-heads";
import { WitnessStateError } from "./errors";
import { WitnessStateFile } from "./state";
import { Witness, type WitnessFaultHook } from "./witness";

export interface OpenWitnessParameters {
  /** File holding the witness key: "PRIVATE+KEY+<name>+<id>+base64(0x04 ‖ seed)" (docs/witness.md). */
  keyFile: string;
  /** Trust policy file naming the log (origin, key) and the anchor contract and chain. */
  policyFile: string;
  stateFile: string;
  publicClient: PublicClient;
  now?: () => number;
  fault?: WitnessFaultHook;
}

/** Loads key, policy and state; checks the RPC serves the policy's chain. */
export async function openWitness(p: OpenWitnessParameters): Promise<Witness> {
  const mode = fs.statSync(p.keyFile).mode & 0o077;
  if (mode !== 0)
    throw new WitnessStateError(`witness key file ${p.keyFile} is readable by others`, {
      details: "chmod 600 it",
    });
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
  });
}
