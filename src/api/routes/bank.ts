import { Gauge, type Registry } from "prom-client";
import { z } from "zod";
import type { ApiContext } from "../context";
import { defineRoute, type RouteDef } from "../http/route";
import type { BankPort } from "../ports";

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD");

const ReportSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: "ReconciliationReport", description: "custody-reconciliation-v1 (docs/reconciliation-v1.md)" });
const BreakSchema = z
  .object({
    id: z.string(),
    ledgerAccount: z.string(),
    day: z.string(),
    class: z.string(),
    severity: z.enum(["info", "high", "critical"]),
    status: z.enum(["open", "timing", "cleared", "resolved", "superseded"]),
    detail: z.record(z.string(), z.unknown()),
    clearedBy: z.string().optional(),
    resolution: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: "ReconciliationBreak" });

const READERS = ["platform", "auditor", "custodian"] as const;

/**
 * The custodian bank's routes: statements in (the `custodian` role only), reconciliation reports,
 * the breaks feed and their resolution by a named key's holder.
 */
export function bankRoutes(_ctx: ApiContext, bank: BankPort): RouteDef[] {
  return [
    defineRoute({
      method: "post",
      path: "/bank/statements",
      operationId: "postBankStatement",
      summary: "A camt.053 (001.02/001.08) XML or custody-bank-statement-v1 JSON statement; custodian only",
      tag: "bank",
      access: ["custodian"],
      rawBody: ["application/xml", "text/xml", "application/json"],
      responses: {
        201: { description: "stored and its hash logged", schema: z.record(z.string(), z.unknown()) },
        200: {
          description: "the same statement again (idempotent replay)",
          schema: z.record(z.string(), z.unknown()),
        },
        409: { description: "a statement id received before with other content (STATEMENT_CONFLICT)" },
      },
      handler: async ({ body }) => {
        const r = await bank.importStatement(body as unknown as Buffer);
        return { status: r.replay ? 200 : 201, body: r };
      },
    }),
    defineRoute({
      method: "get",
      path: "/reconciliation/breaks",
      operationId: "listReconciliationBreaks",
      summary: "Reconciliation breaks (default: the open, alarming ones)",
      tag: "bank",
      access: READERS,
      query: z.strictObject({
        status: z.enum(["open", "timing", "cleared", "resolved", "superseded", "all"]).optional(),
        limit: z.coerce.number().int().min(1).max(1000).optional(),
      }),
      responses: { 200: { description: "breaks", schema: z.object({ breaks: z.array(BreakSchema) }) } },
      handler: async ({ query }) => ({ body: { breaks: await bank.listBreaks(query) } }),
    }),
    defineRoute({
      method: "post",
      path: "/reconciliation/breaks/{id}/resolve",
      operationId: "resolveReconciliationBreak",
      summary:
        "Resolves an open break with an explanation, recorded with the caller's key and role in the log",
      tag: "bank",
      // Operators (the people who run the books) resolve breaks too; every resolution names its key.
      access: [...READERS, "operator"],
      params: z.strictObject({ id: z.string().min(1).max(300) }),
      body: z.strictObject({ explanation: z.string().min(3).max(4000) }),
      responses: { 200: { description: "the resolved break", schema: BreakSchema } },
      handler: async ({ params, body, principal }) => ({
        body: await bank.resolveBreak(params.id, body.explanation, {
          keyId: principal?.keyId ?? "?",
          role: principal?.role ?? "?",
        }),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/reconciliation/{date}",
      operationId: "getReconciliation",
      summary: "The latest reconciliation report of a business day, per custody account",
      tag: "bank",
      access: READERS,
      params: z.strictObject({ date: Day }),
      responses: {
        200: {
          description: "reports with their hashes and fact sequences",
          schema: z.object({
            reconciliations: z.array(
              z.object({
                run: z.number().int(),
                reportHash: z.string(),
                factSequence: z.number().int(),
                report: ReportSchema,
              }),
            ),
          }),
        },
      },
      handler: async ({ params }) => ({
        body: {
          reconciliations: (await bank.getReconciliations(params.date)).map((r) => ({
            run: r.run,
            reportHash: r.reportHash,
            factSequence: r.factSequence,
            report: r.report,
          })),
        },
      }),
    }),
  ];
}

/** Alarm gauges read at scrape time: open breaks per class, and segregation shortfalls. */
export function registerBankMetrics(registry: Registry, bank: BankPort): void {
  if (registry.getSingleMetric("custody_bank_open_breaks")) return;
  new Gauge({
    name: "custody_bank_open_breaks",
    help: "Open (alarming) reconciliation breaks by class",
    labelNames: ["class"] as const,
    registers: [registry],
    async collect() {
      const s = await bank.alarmSummary();
      this.reset();
      for (const c of [
        "bank_only",
        "ledger_only",
        "amount_mismatch",
        "duplicate",
        "statement_gap",
        "segregation_shortfall",
      ])
        this.set({ class: c }, s.openBreaks[c] ?? 0);
    },
  });
  new Gauge({
    name: "custody_bank_segregation_shortfall",
    help: "1 while a reconciliation shows customer liabilities above the bank's closing balance (highest severity)",
    registers: [registry],
    async collect() {
      this.set((await bank.alarmSummary()).shortfalls > 0 ? 1 : 0);
    },
  });
}
