import type { Address, Hex, LocalAccount } from "viem";
import { emptyRoot } from "../log/hash";
import { toHex } from "../log/hex";
import { isConsistencyValid } from "../log/verify";
import { cosignatureSigner, parseCheckpoint, type Checkpoint } from "../protocol/checkpoint";
import {
  type AnchorCosignatureResponse,
  anchorCosignatureTypedData,
  parseAnchorCosignatureRequest,
} from "../protocol/anchor-cosignature";
import { AnchorCosignatureFormatError, NoteFormatError, NoteSignatureError } from "../protocol/errors";
import { type NoteSigner, formatSignatureLine, openNote, parseNote } from "../protocol/note";
import type { LoadedTrustPolicy } from "../protocol/trust-policy";
import { parseAddCheckpointRequest } from "../protocol/witness-request";
import { WitnessRefusalError } from "./errors";
import type { WitnessStateFile } from "./state";

/** The head anchored on chain with exactly this tree size, if any (src/witness/chain-heads.ts). */
export type AnchoredHeadLookup = (treeSize: number) => Promise<{ rootHash: `0x${string}` } | undefined>;

/** The chain's view the anchor cosigner needs: the latest anchored head and the contract's cosigner. */
export interface AnchorChainView {
  latestHead(): Promise<{ headIndex: number; treeSize: number; rootHash: Hex } | undefined>;
  /** The contract's immutable cosigner (zero address if none). */
  cosigner(): Promise<Address>;
}

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
  /**
   * Opt-in: the custodian's secp256k1 key that cosigns heads before they are anchored (CustodyAnchor
   * `anchorCosigned`), and the chain reads it needs. Without it `/anchor-cosignature` answers 404.
   */
  anchor?: { account: LocalAccount; chain: AnchorChainView };
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

  /** The address of the anchor cosigning key, if this witness has one. */
  get anchorCosigner(): Address | undefined {
    return this.o.anchor?.account.address;
  }

  /**
   * The anchor-cosignature call: the EIP-712 signature that lets CustodyAnchor accept the request's
   * checkpoint as its next head, or rejects with WitnessRefusalError. Serialised with add-checkpoint.
   */
  anchorCosignature(body: string): Promise<AnchorCosignatureResponse> {
    const run = this.queue.then(() => this.cosignAnchor(body));
    this.queue = run.catch(() => {});
    return run;
  }

  /** The latest checkpoint this witness cosigned for `origin` (monitoring endpoint). */
  latest(origin: string): string | undefined {
    return this.o.state.get(origin)?.note;
  }

  /** Parses a signed checkpoint of the policy's log; 400 / 404 / 403 as for add-checkpoint. */
  private openCheckpoint(note: string): Checkpoint {
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(parseNote(note).text);
    } catch (e) {
      if (e instanceof NoteFormatError)
        throw new WitnessRefusalError(400, e.shortMessage, { details: e.details });
      throw e;
    }
    const policy = this.o.policy;
    if (cp.origin !== policy.policy.log.origin)
      throw new WitnessRefusalError(404, `unknown log origin ${cp.origin}`);
    try {
      openNote(note, [policy.log]);
    } catch (e) {
      if (e instanceof NoteSignatureError || e instanceof NoteFormatError)
        throw new WitnessRefusalError(403, "the checkpoint is not signed by the log's key", {
          details: e.shortMessage,
        });
      throw e;
    }
    return cp;
  }

  private async cosignAnchor(body: string): Promise<AnchorCosignatureResponse> {
    const anchor = this.o.anchor;
    if (!anchor) throw new WitnessRefusalError(404, "this witness has no anchor cosigning key");
    let req;
    try {
      req = parseAnchorCosignatureRequest(body);
    } catch (e) {
      if (e instanceof AnchorCosignatureFormatError) throw new WitnessRefusalError(400, e.shortMessage);
      throw e;
    }
    const cp = this.openCheckpoint(req.checkpoint);
    const policy = this.o.policy.policy;
    const onChainCosigner = await anchor.chain.cosigner();
    if (onChainCosigner.toLowerCase() !== anchor.account.address.toLowerCase())
      throw new WitnessRefusalError(422, "the anchor contract does not take this witness's cosignature", {
        details: `contract ${policy.anchorContract} cosigner ${onChainCosigner}, this key ${anchor.account.address}`,
      });
    // Consistency with the head anchored on chain now: the new head must extend it.
    const latest = await anchor.chain.latestHead();
    const chainSize = latest?.treeSize ?? 0;
    if (req.oldSize !== chainSize)
      throw new WitnessRefusalError(409, "old size is not the size of the head anchored on chain", {
        knownSize: chainSize,
        details: `chain ${chainSize}, got old ${req.oldSize}`,
      });
    if (cp.size <= chainSize)
      throw new WitnessRefusalError(422, "the checkpoint does not extend the head anchored on chain", {
        details: `chain ${chainSize}, checkpoint ${cp.size}`,
      });
    if (latest === undefined) {
      if (req.proof.length !== 0) throw new WitnessRefusalError(422, "a proof from size 0 must be empty");
    } else if (
      !isConsistencyValid({
        size1: chainSize,
        size2: cp.size,
        root1: latest.rootHash.toLowerCase() as Hex,
        root2: cp.rootHash,
        proof: req.proof,
      })
    )
      throw new WitnessRefusalError(
        422,
        "the consistency proof from the head anchored on chain does not verify",
        {
          details: `from ${chainSize} to ${cp.size}`,
        },
      );
    // And with what this witness cosigned: its checkpoints are anchored heads, so one beyond the
    // chain's latest head means another chain or contract than the one it followed.
    const known = this.o.state.get(cp.origin);
    if (known && known.size > chainSize)
      throw new WitnessRefusalError(
        422,
        "this witness cosigned a larger checkpoint than the chain's latest head",
        {
          details: `cosigned ${known.size}, chain ${chainSize}`,
        },
      );
    const message = {
      chainId: policy.chainId,
      contract: policy.anchorContract as Address,
      headIndex: BigInt(latest ? latest.headIndex + 1 : 0),
      previousSize: BigInt(chainSize),
      newSize: BigInt(cp.size),
      newRoot: cp.rootHash,
      metadataHash: req.metadataHash,
    };
    const signature = await anchor.account.signTypedData(anchorCosignatureTypedData(message));
    return {
      chainId: message.chainId,
      contract: message.contract,
      headIndex: message.headIndex.toString(),
      previousSize: message.previousSize.toString(),
      newSize: message.newSize.toString(),
      newRoot: message.newRoot,
      metadataHash: message.metadataHash,
      signer: anchor.account.address,
      signature,
    };
  }

  private async add(body: string): Promise<string> {
    let req;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (e) {
      if (e instanceof NoteFormatError)
        throw new WitnessRefusalError(400, e.shortMessage, { details: e.details });
      throw e;
    }
    const cp = this.openCheckpoint(req.checkpoint);
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
            : `no head of size ${cp.size} in ${this.o.policy.policy.anchorContract} on chain ${this.o.policy.policy.chainId}`,
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
