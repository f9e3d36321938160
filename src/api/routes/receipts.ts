import { z } from "zod";
import { NotFoundError } from "../errors";
import { defineRoute, type RouteDef } from "../http/route";
import { EmptyQuery, ExternalId, IndexString, ReceiptSchema } from "../schemas/common";
import type { ApiContext } from "../context";
import { canSeeAccounts, requireScope } from "./access";

export function receiptRoutes(ctx: ApiContext): RouteDef[] {
  return [
    defineRoute({
      method: "get",
      path: "/receipts/{leafIndex}",
      operationId: "getReceipt",
      summary: "The receipt (custody-receipt-v2, or v1 without checkpoints) of the log entry at `leafIndex`",
      tag: "receipts",
      access: ["platform", "auditor", "holder"],
      params: z.strictObject({ leafIndex: IndexString }),
      query: z.strictObject({ headIndex: IndexString.optional() }),
      responses: {
        200: { description: "the receipt", schema: ReceiptSchema },
        404: { description: "no such entry, or not involving the holder's accounts (NOT_FOUND)" },
        409: { description: "not anchored yet (NOT_ANCHORED_YET; body carries the relayer's lag)" },
      },
      handler: async ({ params, query, principal }) => {
        const ev = await ctx.receipts.event(params.leafIndex);
        requireScope(principal, ev.accounts, `log entry ${params.leafIndex}`);
        return { body: await ctx.receipts.receipt(ev, query.headIndex) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/receipts/by-subject/{kind}/{id}",
      operationId: "listSubjectReceipts",
      summary: "Receipts of every event about an account, transfer or hold (escrow), oldest first",
      tag: "receipts",
      access: ["platform", "auditor", "holder"],
      params: z.strictObject({ kind: z.enum(["account", "transfer", "hold"]), id: ExternalId }),
      query: EmptyQuery,
      responses: {
        200: {
          description:
            "receipts of anchored events; `notAnchored` lists the leaf indices still waiting for an anchor",
          schema: z.object({ receipts: z.array(ReceiptSchema), notAnchored: z.array(z.number().int()) }),
        },
        404: { description: "no events, or not involving the holder's accounts (NOT_FOUND)" },
      },
      handler: async ({ params, principal }) => {
        const events = (await ctx.receipts.eventsOf(params.kind, params.id)).filter((e) =>
          canSeeAccounts(principal, e.accounts),
        );
        if (events.length === 0) throw new NotFoundError(`${params.kind} ${params.id} not found`);
        return { body: await ctx.receipts.receiptsOf(events) };
      },
    }),
  ];
}
