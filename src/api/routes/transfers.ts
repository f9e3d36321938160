import { z } from "zod";
import { defineRoute, type RouteDef } from "../http/route";
import { EmptyQuery, ExternalId, IndexString, ReceiptSchema } from "../schemas/common";
import { TransferBody, TransferSchema, transferJson } from "../schemas/ledger";
import type { ApiContext } from "../context";
import { findOrNotFound, requireScope } from "./access";

const IdParams = z.strictObject({ id: ExternalId });

export function transferRoutes(ctx: ApiContext): RouteDef[] {
  const ledger = ctx.deps.ledger;
  const BatchBody = z
    .strictObject({ transfers: z.array(TransferBody).min(1).max(ctx.options.maxBatchSize) })
    .meta({ id: "TransferBatchRequest" });

  async function visibleTransfer(id: string, principal: Parameters<typeof requireScope>[0]) {
    const t = await findOrNotFound(() => ledger.getTransfer(id), `transfer ${id}`);
    requireScope(principal, [t.debitAccountId, t.creditAccountId], `transfer ${id}`);
    return t;
  }

  return [
    defineRoute({
      method: "post",
      path: "/transfers",
      operationId: "submitTransfer",
      summary: "Submit one transfer; idempotent by id (a replay returns the original)",
      tag: "transfers",
      access: ["platform"],
      query: EmptyQuery,
      body: TransferBody,
      responses: {
        201: { description: "the posted transfer", schema: TransferSchema },
        404: { description: "an account does not exist (UNKNOWN_ACCOUNT)" },
        409: { description: "id reused with another body (IDEMPOTENCY_CONFLICT)" },
        422: { description: "refused by a ledger rule (INSUFFICIENT_FUNDS, ACCOUNT_FROZEN, SEGREGATION_…)" },
      },
      handler: async ({ body }) => ({ status: 201, body: transferJson(await ledger.transfer(body)) }),
    }),
    defineRoute({
      method: "post",
      path: "/transfers/batch",
      operationId: "submitTransferBatch",
      summary: "Submit transfers atomically: all are posted or none; idempotent per transfer id",
      tag: "transfers",
      access: ["platform"],
      query: EmptyQuery,
      body: BatchBody,
      responses: {
        201: {
          description: "the posted transfers, in order",
          schema: z.object({ transfers: z.array(TransferSchema) }),
        },
        409: { description: "an id reused with another body (IDEMPOTENCY_CONFLICT)" },
        422: { description: "refused by a ledger rule; nothing was posted" },
      },
      handler: async ({ body }) => ({
        status: 201,
        body: { transfers: (await ledger.transferBatch(body.transfers)).map(transferJson) },
      }),
    }),
    defineRoute({
      method: "get",
      path: "/transfers/{id}",
      operationId: "getTransfer",
      summary: "One transfer",
      tag: "transfers",
      access: ["platform", "auditor", "holder"],
      params: IdParams,
      query: EmptyQuery,
      responses: {
        200: { description: "the transfer", schema: TransferSchema },
        404: { description: "unknown, or not involving the holder's accounts (NOT_FOUND)" },
      },
      handler: async ({ params, principal }) => ({
        body: transferJson(await visibleTransfer(params.id, principal)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/transfers/{id}/receipt",
      operationId: "getTransferReceipt",
      summary: "The custody-receipt-v1 of a transfer (entry with its salt, inclusion proof, anchored head)",
      tag: "receipts",
      access: ["platform", "auditor", "holder"],
      params: IdParams,
      query: z.strictObject({ headIndex: IndexString.optional() }),
      responses: {
        200: { description: "the receipt", schema: ReceiptSchema },
        404: { description: "unknown, or not involving the holder's accounts (NOT_FOUND)" },
        409: { description: "not anchored yet (NOT_ANCHORED_YET; body carries the relayer's lag)" },
      },
      handler: async ({ params, query, principal }) => {
        const t = await visibleTransfer(params.id, principal);
        return { body: await ctx.receipts.receipt(await ctx.receipts.event(t.sequence), query.headIndex) };
      },
    }),
  ];
}
