import { z } from "zod";
import { defineRoute, type RouteDef } from "../http/route";
import { ExternalId } from "../schemas/common";
import type { ApiContext } from "../context";
import { requireScope } from "./access";

const IdParams = z.strictObject({ id: ExternalId });
const BalanceProofQuery = z.strictObject({
  snapshot: z
    .string()
    .regex(/^[A-Za-z0-9._:@/-]{1,160}$/)
    .optional()
    .describe("snapshot id, e.g. liabilities:EUR:2026-12-01; default the newest of the account's asset"),
});
const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const BalanceProofSchema = z
  .object({
    version: z.literal("custody-balance-proof-v1"),
    account: z.object({ id: z.string(), pseudonym: Hex32 }),
    leaf: z.object({ index: z.number(), key: Hex32, salt: Hex32, balance: z.string(), hash: Hex32 }),
    path: z.array(z.object({ hash: Hex32, sum: z.string() })),
    snapshot: z.object({
      asset: z.string(),
      day: z.string(),
      logSize: z.number(),
      height: z.number(),
      leafCount: z.number(),
      rootHash: Hex32,
      rootSum: z.string(),
    }),
    chain: z.object({ chainId: z.number(), solvencyContract: z.string() }),
  })
  .describe("custody-balance-proof-v1 (docs/balance-proof-v1.md)");

/** Balance proofs against liabilities snapshots; a holder sees only its own accounts. */
export function solvencyRoutes(ctx: ApiContext): RouteDef[] {
  const solvency = ctx.deps.solvency;
  if (!solvency) return [];
  return [
    defineRoute({
      method: "get",
      path: "/accounts/{id}/balance-proof",
      operationId: "getBalanceProof",
      summary: "The account's balance proof in a liabilities snapshot (custody-balance-proof-v1)",
      tag: "accounts",
      access: ["holder", "auditor"],
      params: IdParams,
      query: BalanceProofQuery,
      responses: {
        200: { description: "the proof", schema: BalanceProofSchema },
        404: { description: "unknown account or snapshot, not the holder's, or not in the snapshot" },
      },
      handler: async ({ params, query, principal }) => {
        requireScope(principal, [params.id], `account ${params.id}`);
        return { body: await solvency.balanceProof(params.id, query.snapshot) };
      },
    }),
  ];
}
