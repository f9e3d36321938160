import { z } from "zod";
import { defineRoute, type RouteDef } from "../http/route";
import { EmptyQuery, ExternalId } from "../schemas/common";
import {
  AccountSchema,
  AccountStatusBody,
  BalanceSchema,
  OpenAccountBody,
  accountJson,
  balanceJson,
} from "../schemas/ledger";
import type { ApiContext } from "../context";
import { findOrNotFound, requireScope } from "./access";

const IdParams = z.strictObject({ id: ExternalId });

export function accountRoutes(ctx: ApiContext): RouteDef[] {
  const ledger = ctx.deps.ledger;
  async function visibleAccount(id: string, principal: Parameters<typeof requireScope>[0]) {
    requireScope(principal, [id], `account ${id}`);
    return findOrNotFound(() => ledger.getAccount(id), `account ${id}`);
  }
  return [
    defineRoute({
      method: "post",
      path: "/accounts",
      operationId: "openAccount",
      summary: "Open an account (idempotent by id)",
      tag: "accounts",
      access: ["platform"],
      query: EmptyQuery,
      body: OpenAccountBody,
      responses: { 201: { description: "the account", schema: AccountSchema } },
      handler: async ({ body }) => {
        const a = await ledger.openAccount(body);
        return { status: 201, body: accountJson(a) };
      },
    }),
    defineRoute({
      method: "get",
      path: "/accounts/{id}",
      operationId: "getAccount",
      summary: "One account",
      tag: "accounts",
      access: ["platform", "auditor", "holder"],
      params: IdParams,
      query: EmptyQuery,
      responses: {
        200: { description: "the account", schema: AccountSchema },
        404: { description: "unknown, or not the holder's (NOT_FOUND)" },
      },
      handler: async ({ params, principal }) => ({
        body: accountJson(await visibleAccount(params.id, principal)),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/accounts/{id}/balance",
      operationId: "getBalance",
      summary: "Posted, pending and available balance of an account",
      tag: "accounts",
      access: ["platform", "auditor", "holder"],
      params: IdParams,
      query: EmptyQuery,
      responses: {
        200: { description: "the balance", schema: BalanceSchema },
        404: { description: "unknown, or not the holder's (NOT_FOUND)" },
      },
      handler: async ({ params, principal }) => {
        const a = await visibleAccount(params.id, principal);
        return { body: balanceJson(a.id, a.asset, await ledger.getBalance(a.id)) };
      },
    }),
    ...(["freeze", "unfreeze", "close"] as const).map((action) =>
      defineRoute({
        method: "post",
        path: `/accounts/{id}/${action}`,
        operationId: `${action}Account`,
        summary: {
          freeze: "Freeze an account (no debits)",
          unfreeze: "Unfreeze an account",
          close: "Close an empty account",
        }[action],
        tag: "accounts",
        access: ["platform"],
        params: IdParams,
        query: EmptyQuery,
        responses: {
          200: { description: "the account", schema: AccountSchema },
          404: { description: "unknown account (UNKNOWN_ACCOUNT)" },
          409: {
            description: "not allowed from the current status (INVALID_STATUS_TRANSITION, ACCOUNT_NOT_EMPTY)",
          },
        },
        handler: async ({ params }) => {
          const status = ({ freeze: "frozen", unfreeze: "active", close: "closed" } as const)[action];
          return { body: accountJson(await ledger.setAccountStatus(params.id, status)) };
        },
      }),
    ),
    defineRoute({
      method: "post",
      path: "/accounts/{id}/status",
      operationId: "setAccountStatus",
      summary: "Set an account's status (active, frozen, closed)",
      tag: "accounts",
      access: ["platform"],
      params: IdParams,
      query: EmptyQuery,
      body: AccountStatusBody,
      responses: { 200: { description: "the account", schema: AccountSchema } },
      handler: async ({ params, body }) => ({
        body: accountJson(await ledger.setAccountStatus(params.id, body.status)),
      }),
    }),
  ];
}
