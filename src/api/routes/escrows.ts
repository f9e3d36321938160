import { z } from "zod";
import type { Hex } from "viem";
import { findEscrow } from "../../chain/actions/find-escrow";
import { ESCROW_STATES } from "../../chain/actions/read-escrow";
import {
  ESCROW_TERMS_FORMAT,
  ESCROW_TERMS_KEY,
  EscrowTermsInvalidError,
  escrowTermsOf,
  parseEscrowTerms,
} from "../../protocol/escrow-terms-v1";
import { InvalidArgumentError } from "../../errors";
import { UnknownHoldError } from "../../ledger";
import type { Hold, JsonValue } from "../../ledger/types";
import { NotFoundError } from "../errors";
import { defineRoute, type RouteDef } from "../http/route";
import { AddressOut, EmptyQuery, ExternalId, Hex32, Hex32Out, ReceiptSchema } from "../schemas/common";
import { HoldSchema, OpenEscrowBody, escrowTermsOfBody, holdJson } from "../schemas/ledger";
import type { ApiContext } from "../context";
import type { ApiPrincipal } from "../auth/keys";
import { findOrNotFound, requireScope } from "./access";

const TermsSchema = z
  .object({
    format: z.literal(ESCROW_TERMS_FORMAT),
    approvers: z.array(AddressOut),
    payerSideMask: z.number().int(),
    threshold: z.number().int(),
    autoReleaseAt: z.number().int(),
    expiresAt: z.number().int(),
    agreementHash: Hex32Out,
  })
  .meta({ id: "EscrowTerms" });

const ChainEscrowSchema = z
  .object({
    state: z.enum(ESCROW_STATES),
    approvalCount: z.number().int().optional(),
    approvedMask: z.number().int().optional(),
    custodianApprovalRequired: z.boolean().optional(),
    custodianApproved: z.boolean().optional(),
    createdAt: z.number().int().optional(),
    closedAt: z.number().int().optional(),
    error: z.string().optional().meta({ description: "set when the chain could not be read" }),
  })
  .meta({ id: "ChainEscrow" });

const EscrowSchema = z
  .object({
    id: z.string(),
    escrowId: Hex32Out,
    status: z.enum(["pending", "posted", "voided"]).meta({ description: "the ledger hold's status" }),
    payer: z.string(),
    payee: z.string().optional(),
    escrowAccount: z.string(),
    asset: z.string(),
    amount: z.string(),
    terms: TermsSchema.optional(),
    hold: HoldSchema,
    chain: ChainEscrowSchema.optional().meta({
      description: "on-chain state (absent when no chain is configured)",
    }),
  })
  .meta({ id: "Escrow" });

export function escrowRoutes(ctx: ApiContext): RouteDef[] {
  const { ledger, chain } = ctx.deps;
  const now = ctx.options.now;

  async function chainState(escrowId: Hex): Promise<z.infer<typeof ChainEscrowSchema> | undefined> {
    if (!chain?.deployment.custodyEscrow) return undefined;
    try {
      const e = await findEscrow(chain.publicClient, chain.deployment.custodyEscrow, escrowId);
      // Not created on chain yet.
      if (!e) return { state: "None" };
      return {
        state: e.state,
        approvalCount: e.approvalCount,
        approvedMask: e.approvedMask,
        custodianApprovalRequired: e.custodianApprovalRequired,
        custodianApproved: e.custodianApproved,
        createdAt: e.createdAt,
        closedAt: e.closedAt,
      };
    } catch (e) {
      return { state: "None", error: String((e as Error)?.message ?? e).split("\n")[0] };
    }
  }

  /** The hold's terms; omitted when it has none or they are not valid v1 terms. */
  function shownTerms(h: Hold) {
    try {
      return escrowTermsOf(h.metadata);
    } catch (e) {
      if (e instanceof EscrowTermsInvalidError) return undefined;
      throw e;
    }
  }

  async function escrowJson(h: Hold) {
    return {
      id: h.id,
      escrowId: h.escrowId!,
      status: h.status,
      payer: h.debitAccountId,
      payee: h.payeeAccountId,
      escrowAccount: h.creditAccountId,
      asset: h.asset,
      amount: h.amount.toString(),
      terms: shownTerms(h),
      hold: holdJson(h),
      chain: await chainState(h.escrowId!),
    };
  }

  async function visibleEscrow(id: string, principal: ApiPrincipal | undefined): Promise<Hold> {
    const h = await findOrNotFound(
      () =>
        /^0x[0-9a-fA-F]{64}$/.test(id)
          ? ledger.getHoldByEscrowId(id.toLowerCase() as Hex)
          : ledger.getHold(id),
      `escrow ${id}`,
    );
    if (h.kind !== "escrow_hold" || !h.escrowId) throw new NotFoundError(`escrow ${id} not found`);
    requireScope(principal, [h.debitAccountId, h.payeeAccountId], `escrow ${id}`);
    return h;
  }

  const EscrowParams = z.strictObject({
    id: z.union([Hex32, ExternalId]).meta({ description: "hold id, or on-chain escrow id (0x…, 32 bytes)" }),
  });

  return [
    defineRoute({
      method: "post",
      path: "/escrows",
      operationId: "openEscrow",
      summary:
        "Open an escrow: holds the amount on the payer's account in the ledger; the relayer creates the escrow on chain",
      tag: "escrows",
      access: ["platform"],
      query: EmptyQuery,
      body: OpenEscrowBody,
      responses: {
        201: { description: "the escrow", schema: EscrowSchema },
        409: { description: "id or escrow id reused (IDEMPOTENCY_CONFLICT, ESCROW_ID_CONFLICT)" },
        422: { description: "refused by a ledger rule (INSUFFICIENT_FUNDS, ASSET_MISMATCH, …)" },
      },
      handler: async ({ body }) => {
        const escrowAccount = body.escrowAccount ?? ctx.options.escrowAccounts[body.asset];
        if (!escrowAccount)
          throw new InvalidArgumentError(
            `no escrow account given and none configured for asset ${body.asset}`,
            {
              details: "pass escrowAccount",
            },
          );
        // A resend of an escrow opened before (its answer was lost) goes to the ledger, which returns
        // the original or refuses another body: its expiry may have passed since, so the checks for
        // opening a new one do not apply to it.
        const known = await ledger.getHold(body.id).then(
          () => true,
          (e: unknown) => {
            if (e instanceof UnknownHoldError) return false;
            throw e;
          },
        );
        const nowSeconds = Math.floor(now() / 1000);
        if (!known && body.expiresAt <= nowSeconds)
          throw new InvalidArgumentError("expiresAt must be in the future", {
            details: `expiresAt ${body.expiresAt}, now ${nowSeconds}`,
          });
        const payer = await ledger.getAccount(body.payer);
        if (payer.asset !== body.asset)
          throw new InvalidArgumentError(
            `asset ${body.asset} is not the payer account's asset ${payer.asset}`,
          );
        const terms = parseEscrowTerms(escrowTermsOfBody(body));
        const metadata = { ...(body.metadata ?? {}), [ESCROW_TERMS_KEY]: terms as unknown as JsonValue };
        const hold = await ledger.createHold({
          id: body.id,
          debitAccountId: body.payer,
          creditAccountId: escrowAccount,
          amount: body.amount,
          kind: "escrow_hold",
          escrowId: body.escrowId,
          payeeAccountId: body.payee,
          metadata,
        });
        return { status: 201, body: await escrowJson(hold) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/escrows/{id}",
      operationId: "getEscrow",
      summary: "Escrow status: the ledger hold and (when a chain is configured) the on-chain escrow",
      tag: "escrows",
      access: ["platform", "auditor", "holder"],
      params: EscrowParams,
      query: EmptyQuery,
      responses: {
        200: { description: "the escrow", schema: EscrowSchema },
        404: { description: "unknown, or not the holder's (NOT_FOUND)" },
      },
      handler: async ({ params, principal }) => ({
        body: await escrowJson(await visibleEscrow(params.id, principal)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/escrows/{id}/receipts",
      operationId: "listEscrowReceipts",
      summary: "Receipts of the escrow hold's events (created, then posted or voided)",
      tag: "receipts",
      access: ["platform", "auditor", "holder"],
      params: EscrowParams,
      query: EmptyQuery,
      responses: {
        200: {
          description:
            "receipts of anchored events; `notAnchored` lists leaf indices still waiting for an anchor",
          schema: z.object({ receipts: z.array(ReceiptSchema), notAnchored: z.array(z.number().int()) }),
        },
      },
      handler: async ({ params, principal }) => {
        const h = await visibleEscrow(params.id, principal);
        // Both parties of an escrow see all of its events (the payee is not an account of the hold's leaves).
        return { body: await ctx.receipts.receiptsOf(await ctx.receipts.eventsOf("hold", h.id)) };
      },
    }),
  ];
}
