import { bytesToHex, type Hex } from "viem";
import type { Ledger } from "../ledger/ledger";
import type { LogIntegrator } from "../log/integrator";
import { nodeHasher } from "../log/node-hasher";
import type { AnchorSource } from "./types";

/**
 * The anchor source of a real deployment: the ledger's events and the log. `sync` asks the log's
 * one integrator for a round (it alone appends; rounds never overlap) and returns the tree size;
 * everything else reads. Audits recompute leaf hashes from the events' leaf bytes, so an event
 * rewritten in the database is noticed even if its stored hash was left alone.
 *
 * @example
 * const integrator = createLogIntegrator({ source: ledger, store: await openLogStore(db) });
 * const source = logAnchorSource({ ledger, integrator });
 */
export function logAnchorSource(p: {
  ledger: Pick<Ledger, "getEvents" | "eventCount">;
  integrator: Pick<LogIntegrator, "integrate" | "reader">;
}): AnchorSource {
  const { ledger, integrator } = p;
  const log = integrator.reader;
  return {
    // The integrator bounds each round, so a step under steady load still gets to anchor.
    sync: () => integrator.integrate(),
    logSize: () => ledger.eventCount(),
    root: async (size) => bytesToHex(await log.root(size)),
    consistencyProof: async (a, b) => (await log.consistencyProof(a, b)).map((h) => bytesToHex(h) as Hex),
    async entryTimestamp(index) {
      const [e] = await ledger.getEvents(index, 1);
      return e && e.sequence === index ? e.createdAt : undefined;
    },
    async ledgerLeafHashes(from, limit) {
      return (await ledger.getEvents(from, limit)).map((e) => nodeHasher.hashLeaf(e.leafBytes));
    },
    treeLeafHashes: (from, limit) => log.leafHashes(from, limit),
  };
}
