import { z } from "zod";
import { SegregationViolationError } from "../../ledger";
import { DualControlRequiredError } from "../../risk";
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

  type Submitted = {
    id: string;
    debitAccountId: string;
    creditAccountId: string;
    kind: string;
    amount: bigint;
  };

  /** Withdrawals above the dual-control threshold go through /v1/approvals (src/risk). */
  async function guardRisk(ts: readonly Submitted[]) {
    const risk = ctx.deps.risk;
    if (!risk) return;
    for (const t of ts)
      if (t.kind === "withdrawal" && (await risk.approvals.needsDualControl(t.amount)))
        throw new DualControlRequiredError(`withdrawal ${t.id} is above the dual-control threshold`, {
          details: "propose it at POST /v1/approvals (operation withdrawal); a checker approves it",
        });
  }

  /** A refused segregation attempt becomes a SEGREGATION_REFUSED fact (and an alert) before the 422. */
  async function withRefusalsLogged<T>(
    ts: readonly Submitted[],
    by: string | undefined,
    post: () => Promise<T>,
  ) {
    try {
      return await post();
    } catch (e) {
      const risk = ctx.deps.risk;
      if (risk && e instanceof SegregationViolationError) {
        // The ledger names the refused transfer and its position in the batch.
        const t = e.batchIndex === undefined ? undefined : ts[e.batchIndex];
        if (t && t.id === e.transferId) {
          const { id: transferId, debitAccountId, creditAccountId, kind, amount } = t;
          const attempt = {
            transferId,
            debitAccountId,
            creditAccountId,
            kind,
            amount,
            errorCode: e.code,
            by,
          };
          await risk.recordRefusal(attempt).catch(() => undefined);
        }
      }
      throw e;
    }
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
      handler: async ({ body, principal }) => {
        await guardRisk([body]);
        return {
          status: 201,
          body: transferJson(await withRefusalsLogged([body], principal?.keyId, () => ledger.transfer(body))),
        };
      },
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
      handler: async ({ body, principal }) => {
        await guardRisk(body.transfers);
        const posted = await withRefusalsLogged(body.transfers, principal?.keyId, () =>
          ledger.transferBatch(body.transfers),
        );
        return { status: 201, body: { transfers: posted.map(transferJson) } };
      },
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
      summary:
        "The receipt (custody-receipt-v2, or v1 without checkpoints) of a transfer (entry with its salt, inclusion proof, anchored head)",
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
