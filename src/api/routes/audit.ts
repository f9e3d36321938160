import { z } from "zod";
import { leafEntryToJson } from "../../protocol/leaf-v1";
import { toHex } from "../../log/hex";
import type { ApiContext } from "../context";
import { defineRoute, type RouteDef } from "../http/route";
import { Hex32Out, IndexString } from "../schemas/common";

const AuditEventSchema = z
  .object({
    sequence: z.number().int(),
    leaf: z
      .string()
      .regex(/^0x[0-9a-f]*$/)
      .meta({ description: "the canonical leaf bytes (v1: 416 bytes)" }),
    leafHash: Hex32Out.meta({ description: "the leaf hash the ledger stored" }),
    createdAt: z.number().int().meta({ description: "ms since the Unix epoch, as stored" }),
    entry: z.record(z.string(), z.union([z.string(), z.number()])).meta({
      description: "the entry decoded from the leaf (docs/receipt-v1.md, amount as a decimal string)",
    }),
  })
  .meta({ id: "AuditEvent" });

/**
 * `GET /v1/audit/events?from=&limit=`: the raw events (leaf bytes, stored hash, decoded entry with
 * its salt) for auditors, in sequence order from `from`. Sequences are the ledger's own: a gap
 * shows as a jump, never as a shifted page.
 */
export function auditRoutes(ctx: ApiContext): RouteDef[] {
  const { deps } = ctx;
  return [
    defineRoute({
      method: "get",
      path: "/audit/events",
      operationId: "listAuditEvents",
      summary: "Raw ledger events (leaf bytes, stored leaf hash, entry) for a full audit; auditors only",
      tag: "audit",
      access: ["auditor"],
      query: z.strictObject({
        from: IndexString.optional(),
        limit: IndexString.refine((n) => n >= 1 && n <= 10_000, "must be in [1, 10000]").optional(),
      }),
      responses: {
        200: {
          description: "a page of events",
          schema: z.object({ total: z.number().int(), events: z.array(AuditEventSchema) }),
        },
      },
      handler: async ({ query }) => {
        const [total, events] = await Promise.all([
          deps.ledger.eventCount(),
          deps.ledger.getEvents(query.from ?? 0, query.limit ?? 1000),
        ]);
        return {
          body: {
            total,
            events: events.map((e) => ({
              sequence: e.sequence,
              leaf: toHex(e.leafBytes),
              leafHash: toHex(e.leafHash),
              createdAt: e.createdAt,
              entry: leafEntryToJson(e.entry),
            })),
          },
        };
      },
    }),
  ];
}
