import { emptyRoot } from "../log/hash";
import { toHex } from "../log/hex";
import { isConsistencyValid } from "../log/verify";
import { cosignatureSigner, parseCheckpoint, type Checkpoint } from "../protocol/checkpoint";
import { NoteFormatError, NoteSignatureError } from "../protocol/errors";
import { type NoteSigner, formatSignatureLine, openNote, parseNote } from "../protocol/note";
import type { LoadedTrustPolicy } from "../protocol/trust-policy";
import { parseAddCheckpointRequest } from "../protocol/witness-request";
import { WitnessRefusalError } from "./errors";
import type { WitnessStateFile } from "./state";

/** The head anchored on chain with exactly this tree size, if any (src/witness/chain-heads.ts). */
export type AnchoredHeadLookup = (treeSize: number) => Promise<{ rootHash: `0x${string}` } | undefined>;

/** Test-only crash points: after the new state is durable, before the cosignature is returned. */
export type WitnessFaultHook = (step: "witness:afterPersist") => void | Promise<void>;

export interface WitnessOptions {
  /** The witness's cosigning key: name and 32-byte Ed25519 seed (cosignature/v1, type 0x04). */
  key: { name: string; seed: Uint8Array };
  /** The log it witnesses (origin, log key) and the chain/contract its heads are anchored in. */
  policy: LoadedTrustPolicy;
  state: WitnessStateFile;
  anchoredHead: AnchoredHeadLookup;
  now?: () => number;
  fault?: WitnessFaultHook;
}

/**
 * A C2SP tlog-witness for one log. It cosigns a checkpoint only if (1) the log key signed it,
 * (2) it is consistent with the last checkpoint this witness cosigned (old size + RFC 6962 proof),
 * and (3) it is the head anchored on chain at that size. Requests are handled one at a time, and
 * the new state is durable before the cosignature is made, so no crash can lead it to cosign two
 * inconsistent checkpoints.
 */
export class Witness {
  private readonly signer: NoteSigner;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: WitnessOptions) {
    this.signer = cosignatureSigner(o.key.name, o.key.seed, o.now);
  }

  get name(): string {
    return this.signer.name;
  }

  /** The origin of the log this witness follows. */
  get origin(): string {
    return this.o.policy.policy.log.origin;
  }

  /** The add-checkpoint call: resolves to the cosignature line(s), or rejects with WitnessRefusalError. */
  addCheckpoint(body: string): Promise<string> {
    const run = this.queue.then(() => this.add(body));
    this.queue = run.catch(() => {});
    return run;
  }

  /** The latest checkpoint this witness cosigned for `origin` (monitoring endpoint). */
  latest(origin: string): string | undefined {
    return this.o.state.get(origin)?.note;
  }

  private async add(body: string): Promise<string> {
    let req;
    let cp: Checkpoint;
    try {
      req = parseAddCheckpointRequest(body);
      cp = parseCheckpoint(parseNote(req.checkpoint).text);
    } catch (e) {
      if (e instanceof NoteFormatError)
        throw new WitnessRefusalError(400, e.shortMessage, { details: e.details });
      throw e;
    }
    const policy = this.o.policy;
    if (cp.origin !== policy.policy.log.origin)
      throw new WitnessRefusalError(404, `unknown log origin ${cp.origin}`);
    try {
      openNote(req.checkpoint, [policy.log]);
    } catch (e) {
      if (e instanceof NoteSignatureError || e instanceof NoteFormatError)
        throw new WitnessRefusalError(403, "the checkpoint is not signed by the log's key", {
          details: e.shortMessage,
        });
      throw e;
    }
    if (req.oldSize > cp.size)
      throw new WitnessRefusalError(400, "old size exceeds the checkpoint size", {
        details: `old ${req.oldSize}, checkpoint ${cp.size}`,
      });
    const known = this.o.state.get(cp.origin);
    const knownSize = known?.size ?? 0;
    if (req.oldSize !== knownSize)
      throw new WitnessRefusalError(409, "old size is not the size this witness last cosigned", {
        knownSize,
        details: `known ${knownSize}, got old ${req.oldSize}`,
      });
    const empty = toHex(emptyRoot());
    if (cp.size === 0 && cp.rootHash !== empty)
      throw new WitnessRefusalError(422, "a size-0 checkpoint must have the empty root");
    if (req.oldSize === 0) {
      if (req.proof.length !== 0) throw new WitnessRefusalError(422, "a proof from size 0 must be empty");
    } else if (req.oldSize === cp.size) {
      if (known!.rootHash !== cp.rootHash)
        throw new WitnessRefusalError(422, "same size as the cosigned checkpoint, different root", {
          details: `cosigned ${known!.rootHash}, got ${cp.rootHash}`,
        });
    } else if (
      !isConsistencyValid({
        size1: req.oldSize,
        size2: cp.size,
        root1: known!.rootHash,
        root2: cp.rootHash,
        proof: req.proof,
      })
    )
      throw new WitnessRefusalError(422, "the consistency proof does not verify", {
        details: `from ${req.oldSize} to ${cp.size}`,
      });
    if (cp.size > 0) {
      const onChain = await this.o.anchoredHead(cp.size);
      if (!onChain || onChain.rootHash.toLowerCase() !== cp.rootHash)
        throw new WitnessRefusalError(422, "the checkpoint is not a head anchored on chain", {
          details: onChain
            ? `chain root at size ${cp.size} is ${onChain.rootHash}, checkpoint root ${cp.rootHash}`
            : `no head of size ${cp.size} in ${policy.policy.anchorContract} on chain ${policy.policy.chainId}`,
        });
    }
    const text = new TextEncoder().encode(parseNote(req.checkpoint).text);
    const line = formatSignatureLine({
      name: this.signer.name,
      keyId: this.signer.keyId,
      signature: this.signer.sign(text),
    });
    // Durable before the cosignature leaves: a crash here forgets nothing it has handed out.
    this.o.state.put(cp.origin, { size: cp.size, rootHash: cp.rootHash, note: req.checkpoint + line });
    await this.o.fault?.("witness:afterPersist");
    return line;
  }
}
