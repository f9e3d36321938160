import { z } from "zod";
import { ALERT_STATES, OPERATIONS, type RiskService } from "../../risk";
import { defineRoute, type RouteDef } from "../http/route";
import { EmptyQuery, IndexString } from "../schemas/common";

const AlertId = z.string().regex(/^al-[0-9a-f]{32}$/, "an alert id (al-…)");
const ApprovalId = z.string().regex(/^ap-[0-9a-z]{1,16}-[0-9a-f]{16}$/, "an approval id (ap-…)");
const Reason = z.string().trim().min(1).max(2000);

const AlertSchema = z
  .object({
    id: z.string(),
    ruleId: z.string(),
    ruleType: z.string(),
    rulesRevision: z.number(),
    severity: z.string(),
    action: z.string(),
    outcome: z.enum(["triggered", "cannot_evaluate"]),
    subject: z.string(),
    window: z.string(),
    sequence: z.number(),
    raisedAt: z.number(),
    details: z.record(z.string(), z.string()),
    state: z.enum(ALERT_STATES),
    updatedAt: z.number(),
    documentHash: z.string(),
  })
  .meta({ id: "Alert" });

const ApprovalSchema = z
  .object({
    id: z.string(),
    operation: z.enum(OPERATIONS),
    params: z.record(z.string(), z.unknown()),
    maker: z.string(),
    createdAt: z.number(),
    expiresAt: z.number(),
    state: z.enum(["pending", "approved", "rejected", "expired", "executed", "failed"]),
    checker: z.string().optional(),
    decidedAt: z.number().optional(),
    reason: z.string().optional(),
    executedAt: z.number().optional(),
    result: z.unknown().optional(),
    documentHash: z.string(),
  })
  .meta({ id: "Approval" });

const READERS = ["platform", "auditor", "operator", "checker"] as const;

/** `/v1/alerts` and `/v1/approvals`: the risk review and dual control (src/risk). */
export function riskRoutes(risk: RiskService): RouteDef[] {
  return [
    defineRoute({
      method: "get",
      path: "/alerts",
      operationId: "listAlerts",
      summary: "Alerts, oldest first, filtered by state, rule, account and time (raisedAt in ms)",
      tag: "risk",
      access: READERS,
      query: z.strictObject({
        state: z.enum(ALERT_STATES).optional(),
        rule: z.string().max(64).optional(),
        account: z.string().max(128).optional(),
        from: IndexString.optional(),
        to: IndexString.optional(),
        limit: IndexString.optional(),
      }),
      responses: { 200: { description: "the alerts", schema: z.object({ alerts: z.array(AlertSchema) }) } },
      handler: async ({ query }) => ({
        body: {
          alerts: await risk.listAlerts({
            state: query.state,
            ruleId: query.rule,
            subject: query.account,
            from: query.from,
            to: query.to,
            limit: query.limit,
          }),
        },
      }),
    }),
    defineRoute({
      method: "get",
      path: "/alerts/stats",
      operationId: "alertStats",
      summary: "Alerts per rule per time bucket (for the operator page's chart)",
      tag: "risk",
      access: READERS,
      query: z.strictObject({ from: IndexString, to: IndexString, bucketMs: IndexString }),
      responses: { 200: { description: "counts per rule and bucket start (ms)" } },
      handler: async ({ query }) => ({
        body: { buckets: await risk.alertCounts(query.from, query.to, Math.max(60_000, query.bucketMs)) },
      }),
    }),
    defineRoute({
      method: "get",
      path: "/alerts/{id}",
      operationId: "getAlert",
      summary: "One alert with its review trail",
      tag: "risk",
      access: READERS,
      params: z.strictObject({ id: AlertId }),
      query: EmptyQuery,
      responses: {
        200: { description: "the alert", schema: AlertSchema },
        404: { description: "UNKNOWN_ALERT" },
      },
      handler: async ({ params }) => ({ body: await risk.getAlert(params.id) }),
    }),
    defineRoute({
      method: "post",
      path: "/alerts/{id}/transition",
      operationId: "transitionAlert",
      summary: "Move an alert: open → under_review → dismissed (reason required) | confirmed | escalated",
      tag: "risk",
      access: ["operator", "checker"],
      params: z.strictObject({ id: AlertId }),
      query: EmptyQuery,
      body: z.strictObject({ to: z.enum(ALERT_STATES), reason: Reason.optional() }),
      responses: {
        200: { description: "the alert after the step", schema: AlertSchema },
        400: { description: "dismissal without a reason (REASON_REQUIRED)" },
        409: { description: "not allowed from the current state (INVALID_ALERT_TRANSITION)" },
      },
      handler: async ({ params, body, principal }) => ({
        body: await risk.transitionAlert(params.id, {
          to: body.to,
          reason: body.reason,
          by: principal!.keyId,
        }),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/approvals",
      operationId: "listApprovals",
      summary: "Pending operations under dual control (and decided ones), newest first",
      tag: "risk",
      access: READERS,
      query: z.strictObject({
        state: z.enum(["pending", "approved", "rejected", "expired", "executed", "failed"]).optional(),
        limit: IndexString.optional(),
      }),
      responses: {
        200: { description: "the approvals", schema: z.object({ approvals: z.array(ApprovalSchema) }) },
      },
      handler: async ({ query }) => ({
        body: { approvals: await risk.approvals.list({ state: query.state, limit: query.limit }) },
      }),
    }),
    defineRoute({
      method: "post",
      path: "/approvals",
      operationId: "proposeOperation",
      summary: "Propose an operation (maker: an operator key); it executes once a checker approves",
      tag: "risk",
      access: ["operator"],
      query: EmptyQuery,
      body: z.strictObject({ operation: z.enum(OPERATIONS), params: z.record(z.string(), z.unknown()) }),
      responses: { 201: { description: "the pending approval", schema: ApprovalSchema } },
      handler: async ({ body, principal }) => ({
        status: 201,
        body: await risk.approvals.propose(body.operation, body.params, principal!.keyId),
      }),
    }),
    defineRoute({
      method: "get",
      path: "/approvals/{id}",
      operationId: "getApproval",
      summary: "One approval",
      tag: "risk",
      access: READERS,
      params: z.strictObject({ id: ApprovalId }),
      query: EmptyQuery,
      responses: { 200: { description: "the approval", schema: ApprovalSchema } },
      handler: async ({ params }) => ({ body: await risk.approvals.get(params.id) }),
    }),
    defineRoute({
      method: "post",
      path: "/approvals/{id}/approve",
      operationId: "approveOperation",
      summary: "Approve (checker key, not the maker's) and execute exactly once",
      tag: "risk",
      access: ["checker"],
      params: z.strictObject({ id: ApprovalId }),
      query: EmptyQuery,
      body: z.strictObject({}),
      responses: {
        200: { description: "the approval after execution (executed or failed)", schema: ApprovalSchema },
        403: { description: "the checker is the maker (MAKER_IS_CHECKER)" },
        409: { description: "expired (APPROVAL_EXPIRED) or already decided (APPROVAL_NOT_PENDING)" },
      },
      handler: async ({ params, principal }) => ({
        body: await risk.approvals.approve(params.id, principal!.keyId),
      }),
    }),
    defineRoute({
      method: "post",
      path: "/approvals/{id}/reject",
      operationId: "rejectOperation",
      summary: "Reject with a written reason (checker key, not the maker's)",
      tag: "risk",
      access: ["checker"],
      params: z.strictObject({ id: ApprovalId }),
      query: EmptyQuery,
      // A missing or blank reason reaches the service, which refuses it by name (REASON_REQUIRED).
      body: z.strictObject({ reason: z.string().max(2000).optional() }),
      responses: {
        200: { description: "the rejected approval", schema: ApprovalSchema },
        400: { description: "no written reason (REASON_REQUIRED)" },
        403: { description: "the checker is the maker (MAKER_IS_CHECKER)" },
        409: { description: "expired (APPROVAL_EXPIRED) or already decided (APPROVAL_NOT_PENDING)" },
      },
      handler: async ({ params, body, principal }) => ({
        body: await risk.approvals.reject(params.id, principal!.keyId, body.reason ?? ""),
      }),
    }),
  ];
}
