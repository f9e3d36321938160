import { z } from "zod";
import { InvalidArgumentError } from "../../errors";
import { toHex } from "../../log/hex";
import { NotFoundError, NotInLogYetError } from "../errors";
import { defineRoute, type RouteDef } from "../http/route";
import type { AnchorRecord } from "../ports";
import {
  AnchoredHeadSchema,
  EmptyQuery,
  HeadSchema,
  Hex32,
  Hex32Out,
  IndexString,
  LeafProofSchema,
} from "../schemas/common";
import type { ApiContext } from "../context";

export function anchoredHeadJson(a: AnchorRecord) {
  return {
    headIndex: a.headIndex,
    treeSize: a.treeSize,
    rootHash: a.rootHash.toLowerCase(),
    metadataHash: a.metadataHash.toLowerCase(),
    txHash: a.txHash.toLowerCase(),
    blockNumber: Number(a.blockNumber),
    blockTimestamp: Number(a.blockTimestamp),
    chainId: a.chainId,
    contract: a.contract.toLowerCase(),
    final: a.final !== false,
  };
}

const AnchoredHeadOut = AnchoredHeadSchema.extend({ final: z.boolean() });

const LocalHeadSchema = HeadSchema.extend({
  latestAnchor: AnchoredHeadOut.optional().meta({ description: "the newest head anchored on chain" }),
}).meta({ id: "LocalHead" });

const ConsistencyQuery = z.strictObject({ from: IndexString, to: IndexString });
const ConsistencySchema = z
  .object({
    size1: z.number().int(),
    size2: z.number().int(),
    root1: Hex32Out,
    root2: Hex32Out,
    proof: z.array(Hex32Out),
  })
  .meta({ id: "ConsistencyProof", description: "RFC 9162 §2.1.4 consistency proof between two tree sizes" });

export function logRoutes(ctx: ApiContext): RouteDef[] {
  const { deps } = ctx;
  return [
    defineRoute({
      method: "get",
      path: "/log/head",
      operationId: "getLogHead",
      summary: "The latest local head of the log (tree size and RFC 9162 root) and the newest anchored head",
      tag: "log",
      access: "public",
      query: EmptyQuery,
      responses: { 200: { description: "local head", schema: LocalHeadSchema } },
      handler: async () => {
        const treeSize = await deps.log.size();
        const rootHash = toHex(await deps.log.root(treeSize));
        const latest = await deps.anchors.latest();
        return {
          body: { treeSize, rootHash, latestAnchor: latest ? anchoredHeadJson(latest) : undefined },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/log/anchors",
      operationId: "listAnchoredHeads",
      summary: "Heads anchored on chain, newest first",
      tag: "log",
      access: "public",
      query: z.strictObject({
        limit: IndexString.refine((n) => n >= 1 && n <= 1000, "must be in [1, 1000]").optional(),
        beforeHeadIndex: IndexString.optional(),
      }),
      responses: {
        200: { description: "anchored heads", schema: z.object({ anchors: z.array(AnchoredHeadOut) }) },
      },
      handler: async ({ query }) => {
        const anchors = await deps.anchors.list({
          limit: query.limit ?? 100,
          beforeHeadIndex: query.beforeHeadIndex,
        });
        return { body: { anchors: anchors.map(anchoredHeadJson) } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/log/anchors/{headIndex}",
      operationId: "getAnchoredHead",
      summary: "One anchored head by its index in the anchor contract",
      tag: "log",
      access: "public",
      params: z.strictObject({ headIndex: IndexString }),
      query: EmptyQuery,
      responses: {
        200: { description: "anchored head", schema: AnchoredHeadOut },
        404: { description: "no such head (NOT_FOUND)" },
      },
      handler: async ({ params }) => {
        const a = await deps.anchors.byHeadIndex(params.headIndex);
        if (!a) throw new NotFoundError(`no anchored head ${params.headIndex}`);
        return { body: anchoredHeadJson(a) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/log/consistency",
      operationId: "getConsistencyProof",
      summary: "RFC 9162 consistency proof that the tree of size `to` extends the tree of size `from`",
      tag: "log",
      access: "public",
      query: ConsistencyQuery,
      responses: { 200: { description: "consistency proof", schema: ConsistencySchema } },
      handler: async ({ query }) => {
        const { from, to } = query;
        if (from < 1 || from > to)
          throw new InvalidArgumentError("requires 1 <= from <= to", {
            details: `got from=${from}, to=${to}`,
          });
        const size = await deps.log.size();
        if (to > size) {
          if ((await deps.ledger.eventCount()) >= to)
            throw new NotInLogYetError(`the log has integrated ${size} entries so far`, {
              details: `requires to <= ${size}, got ${to}`,
            });
          throw new InvalidArgumentError(`the log has ${size} entries`, {
            details: `requires to <= ${size}, got ${to}`,
          });
        }
        const [root1, root2, proof] = await Promise.all([
          deps.log.root(from),
          deps.log.root(to),
          deps.log.consistencyProof(from, to),
        ]);
        return {
          body: {
            size1: from,
            size2: to,
            root1: toHex(root1),
            root2: toHex(root2),
            proof: proof.map(toHex),
          },
        };
      },
    }),
    defineRoute({
      method: "get",
      path: "/proofs/by-leaf-hash/{leafHash}",
      operationId: "getProofByLeafHash",
      summary: "Inclusion proof of a leaf known only by its hash, against the head anchored right after it",
      tag: "proofs",
      access: "public",
      params: z.strictObject({ leafHash: Hex32 }),
      query: z.strictObject({ headIndex: IndexString.optional() }),
      responses: {
        200: { description: "the proof (no entry, no salt)", schema: LeafProofSchema },
        404: { description: "no entry has this hash (NOT_FOUND)" },
        409: { description: "the entry is not anchored yet (NOT_ANCHORED_YET), retry later" },
      },
      handler: async ({ params, query }) => ({
        body: await ctx.proofs.proofByLeafHash(params.leafHash, query.headIndex),
      }),
    }),
  ];
}
