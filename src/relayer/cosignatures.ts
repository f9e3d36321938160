import type { Database } from "../db/database";
import type { Migration } from "../db/migrate";
import type { LogReader } from "../log/reader";
import { cosignatureVerifier, formatCheckpoint } from "../protocol/checkpoint";
import {
  type NoteSigner,
  type NoteVerifier,
  SIG_TYPE_COSIGNATURE_V1,
  formatSignatureLine,
  openNote,
  parseVerifierKey,
  signNote,
} from "../protocol/note";
import { formatAddCheckpointRequest } from "../protocol/witness-request";
import type { AnchorStore } from "./anchor-store";
import type { Logger } from "../logging";
import type { RelayerTask } from "./relayer";
import { all, run } from "../db/sql";
import { NoteFormatError } from "../protocol/errors";
import { WitnessRequestError } from "./errors";

/**
 * Witness cosignatures of anchored heads (docs/witness.md). After each anchor the relayer sends
 * the head's signed checkpoint to every configured witness (C2SP tlog-witness add-checkpoint) and
 * stores the cosignature lines it gets back; the API appends them to `/tlog/checkpoint`.
 */
export const cosignatureMigrations: readonly Migration[] = [
  {
    id: "relayer/010_cosignatures",
    sqlite: `
CREATE TABLE relayer_cosignatures (
  tree_size INTEGER NOT NULL,
  root_hash TEXT NOT NULL,
  witness TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (tree_size, witness)
);
CREATE TABLE relayer_witness_sizes (witness TEXT PRIMARY KEY, size INTEGER NOT NULL);`,
    postgres: `
CREATE TABLE relayer_cosignatures (
  tree_size BIGINT NOT NULL,
  root_hash TEXT NOT NULL,
  witness TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (tree_size, witness)
);
CREATE TABLE relayer_witness_sizes (witness TEXT PRIMARY KEY, size BIGINT NOT NULL);`,
  },
];

export interface WitnessEndpoint {
  /** The witness's key name (its cosignature lines carry it). */
  name: string;
  /** Submission prefix: `<url>/add-checkpoint` is posted to. */
  url: string;
  /**
   * The witness's verifier key (note vkey, type 0x04, as in the trust policy): a reply is stored only
   * if its cosignature verifies under it.
   */
  vkey: string;
}

/** The cosignature verifier of a witness endpoint; throws NoteFormatError for a bad or foreign key. */
export function witnessVerifierOf(w: WitnessEndpoint): NoteVerifier {
  const k = parseVerifierKey(w.vkey);
  if (k.sigType !== SIG_TYPE_COSIGNATURE_V1 || k.name !== w.name)
    throw new NoteFormatError(`witness ${w.name}: its vkey must be a cosignature/v1 key named ${w.name}`, {
      details: `got ${w.vkey}`,
    });
  return cosignatureVerifier(k.name, k.publicKey);
}

export interface CosignatureTaskOptions {
  db: Database;
  reader: LogReader;
  anchors: Pick<AnchorStore, "latestFinal">;
  origin: string;
  signer: NoteSigner;
  witnesses: readonly WitnessEndpoint[];
  log: Logger;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Stored cosignature lines of a head (API side: `CosignatureSource`). */
export function cosignatureStore(db: Database) {
  return {
    async lines(treeSize: number, rootHash: `0x${string}`): Promise<string[]> {
      const rows = await all<{ line: string }>(
        db,
        "SELECT line FROM relayer_cosignatures WHERE tree_size = ? AND root_hash = ? ORDER BY witness",
        [treeSize, rootHash.toLowerCase()],
      );
      return rows.map((r) => r.line);
    },
  };
}

/** The relayer task that collects cosignatures of the latest final head from each witness. */
export function createCosignatureTask(o: CosignatureTaskOptions): RelayerTask {
  const doFetch = o.fetch ?? fetch;
  const verifiers = new Map<string, NoteVerifier>();
  const verifierOf = (w: WitnessEndpoint) => {
    const key = `${w.name} ${w.vkey}`;
    let v = verifiers.get(key);
    if (!v) verifiers.set(key, (v = witnessVerifierOf(w)));
    return v;
  };
  const knownSize = async (w: string) =>
    Number(
      (await all<{ size: number }>(o.db, "SELECT size FROM relayer_witness_sizes WHERE witness = ?", [w]))[0]
        ?.size ?? 0,
    );
  const setKnown = (w: string, size: number) =>
    run(
      o.db,
      "INSERT INTO relayer_witness_sizes (witness, size) VALUES (?, ?) ON CONFLICT (witness) DO UPDATE SET size = excluded.size",
      [w, size],
    );

  async function submit(w: WitnessEndpoint, old: number, size: number, note: string): Promise<Response> {
    const proof = old > 0 && old < size ? await o.reader.consistencyProof(old, size) : [];
    return doFetch(`${w.url.replace(/\/$/, "")}/add-checkpoint`, {
      method: "POST",
      body: formatAddCheckpointRequest({ oldSize: old, proof, checkpoint: note }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
  }

  return {
    name: "cosignatures",
    async run() {
      const head = await o.anchors.latestFinal();
      if (!head) return;
      const rootHash = head.rootHash.toLowerCase() as `0x${string}`;
      const note = signNote(formatCheckpoint({ origin: o.origin, size: head.treeSize, rootHash }), [
        o.signer,
      ]);
      for (const w of o.witnesses) {
        try {
          let old = await knownSize(w.name);
          if (old >= head.treeSize) continue;
          let res = await submit(w, old, head.treeSize, note);
          if (res.status === 409) {
            // The witness knows another size (a restart, a lost reply): retry once from it.
            const told = Number((await res.text()).trim());
            if (!Number.isSafeInteger(told) || told > head.treeSize)
              throw new WitnessRequestError(w.name, `witness answered 409 with size ${told}`);
            old = told;
            await setKnown(w.name, told);
            if (old >= head.treeSize) continue;
            res = await submit(w, old, head.treeSize, note);
          }
          const body = await res.text();
          if (res.status !== 200)
            throw new WitnessRequestError(w.name, `witness answered ${res.status}`, {
              details: body.trim().slice(0, 200),
            });
          // Only a cosignature that verifies under the witness's own key is stored: a reply signed by
          // another key (or garbage) would otherwise be served to verifiers as a cosignature.
          const verified = openNote(note + body, [verifierOf(w)]).verified;
          if (verified.length === 0)
            throw new WitnessRequestError(w.name, "witness returned no cosignature under its key");
          const text = formatSignatureLine(verified[0]);
          await run(
            o.db,
            "INSERT INTO relayer_cosignatures (tree_size, root_hash, witness, line) VALUES (?, ?, ?, ?) " +
              "ON CONFLICT (tree_size, witness) DO UPDATE SET line = excluded.line, root_hash = excluded.root_hash",
            [head.treeSize, rootHash, w.name, text],
          );
          await setKnown(w.name, head.treeSize);
        } catch (e) {
          o.log.warn(
            {
              witness: w.name,
              treeSize: head.treeSize,
              error: String(e),
            },
            "witness did not cosign",
          );
        }
      }
    },
  };
}
