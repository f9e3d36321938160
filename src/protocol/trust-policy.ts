import { z } from "zod";
import { verifyCheckpoint, type VerifiedCheckpoint, cosignatureVerifier } from "./checkpoint";
import { TrustPolicyError } from "./errors";
import {
  type NoteVerifier,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  ed25519NoteVerifier,
  parseVerifierKey,
} from "./note";

/**
 * custody-trust-policy-v1 (docs/checkpoints.md §Trust policy): what a verifier trusts, obtained out
 * of band (from the custodian bank or a regulator), never from the platform. Browser-safe.
 */
export const TRUST_POLICY_VERSION = "custody-trust-policy-v1";

const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x-hex address");

const TrustPolicySchema = z.strictObject({
  version: z.literal(TRUST_POLICY_VERSION),
  /** Human label shown by the page and the CLI. */
  name: z.string().min(1).max(200),
  chainId: z.number().int().positive(),
  anchorContract: Address,
  reservesContract: Address.optional(),
  log: z.strictObject({ origin: z.string().min(1).max(200), vkey: z.string().min(1) }),
  witnesses: z.strictObject({ quorum: z.number().int().min(0), vkeys: z.array(z.string()).max(64) }),
});

export type TrustPolicy = z.output<typeof TrustPolicySchema>;

/** A parsed policy with its keys decoded, ready to verify checkpoints. */
export interface LoadedTrustPolicy {
  readonly policy: TrustPolicy;
  readonly log: NoteVerifier;
  readonly witnesses: readonly NoteVerifier[];
}

/** Parses and checks a policy (JSON text or object): keys decode, quorum <= number of witnesses. */
export function loadTrustPolicy(input: string | unknown): LoadedTrustPolicy {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new TrustPolicyError("POLICY_FORMAT", "trust policy is not JSON", { details: String(e) });
    }
  }
  const r = TrustPolicySchema.safeParse(raw);
  if (!r.success)
    throw new TrustPolicyError("POLICY_FORMAT", "trust policy is malformed", {
      details: r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; "),
    });
  const policy = r.data;
  const decode = (vkey: string, type: number, what: string) => {
    const invalid = (details: string) =>
      new TrustPolicyError("POLICY_FORMAT", `trust policy ${what} key is invalid`, { details });
    let k: ReturnType<typeof parseVerifierKey>;
    try {
      k = parseVerifierKey(vkey);
    } catch (e) {
      throw invalid(e instanceof Error ? e.message : String(e));
    }
    if (k.sigType !== type) throw invalid(`signature type 0x${k.sigType.toString(16)}, expected 0x0${type}`);
    return k;
  };
  const lk = decode(policy.log.vkey, SIG_TYPE_ED25519, "log");
  const witnesses = policy.witnesses.vkeys.map((v, i) => {
    const k = decode(v, SIG_TYPE_COSIGNATURE_V1, `witness ${i}`);
    return cosignatureVerifier(k.name, k.publicKey);
  });
  if (new Set(witnesses.map((w) => w.name)).size !== witnesses.length)
    throw new TrustPolicyError("POLICY_FORMAT", "trust policy names a witness twice");
  if (policy.witnesses.quorum > witnesses.length)
    throw new TrustPolicyError("POLICY_FORMAT", "trust policy quorum exceeds its witnesses", {
      details: `quorum ${policy.witnesses.quorum}, ${witnesses.length} witnesses`,
    });
  return { policy, log: ed25519NoteVerifier(lk.name, lk.publicKey), witnesses };
}

/** Refuses a receipt or anchor whose chain or contract is not the policy's (a lookalike contract). */
export function checkPolicyTarget(p: TrustPolicy, target: { chainId: number; contract: string }): void {
  if (target.chainId !== p.chainId)
    throw new TrustPolicyError(
      "POLICY_MISMATCH",
      "the receipt is for another chain than the trust policy's",
      {
        details: `policy chain ${p.chainId}, receipt chain ${target.chainId}`,
      },
    );
  if (target.contract.toLowerCase() !== p.anchorContract.toLowerCase())
    throw new TrustPolicyError("POLICY_MISMATCH", "the receipt's anchor contract is not the trust policy's", {
      details: `policy contract ${p.anchorContract.toLowerCase()}, receipt contract ${target.contract.toLowerCase()}`,
    });
}

/** Verifies a signed checkpoint under the policy: log key, origin, witness quorum. */
export function verifyPolicyCheckpoint(p: LoadedTrustPolicy, note: string): VerifiedCheckpoint {
  return verifyCheckpoint(note, {
    origin: p.policy.log.origin,
    log: p.log,
    witnesses: p.witnesses,
    quorum: p.policy.witnesses.quorum,
  });
}
