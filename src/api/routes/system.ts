import { z } from "zod";
import { DependencyTimeoutError, NotConfiguredError } from "../errors";
import { defineRoute, type RouteDef } from "../http/route";
import { AddressOut, EmptyQuery } from "../schemas/common";
import type { ApiContext } from "../context";

const HealthSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

const CheckSchema = z.object({ ok: z.boolean(), message: z.string().optional() });
const ReadinessSchema = z
  .object({
    ready: z.boolean(),
    checks: z.object({
      log: CheckSchema.extend({ treeSize: z.number().int().optional() }),
      chain: CheckSchema.extend({ blockNumber: z.number().int().optional() }).optional(),
      proofCache: z
        .object({ leaves: z.number().int().meta({ description: "leaves whose tree levels are in memory" }) })
        .optional(),
      relayer: CheckSchema.extend({
        leader: z.boolean().optional(),
        lagEntries: z.number().optional(),
        lagSeconds: z.number().optional(),
        failuresInARow: z.number().int().optional(),
        lastError: z.string().optional().meta({ description: "the last step's error, reverts decoded" }),
        missingRoles: z.array(z.string()).optional(),
        alarm: z
          .object({ kind: z.string(), firstBadSize: z.number().int().optional(), message: z.string() })
          .optional(),
      }).optional(),
      solvency: CheckSchema.extend({
        shortfalls: z
          .array(
            z.object({ asset: z.string(), day: z.string(), reserves: z.string(), liabilities: z.string() }),
          )
          .optional(),
      }).optional(),
      bank: CheckSchema.extend({
        openBreaks: z.record(z.string(), z.number().int()).optional(),
        segregationShortfall: z.boolean().optional(),
      }).optional(),
      risk: CheckSchema.extend({
        lagEvents: z
          .number()
          .int()
          .optional()
          .meta({ description: "ledger events the rules engine has not evaluated yet" }),
      }).optional(),
    }),
  })
  .meta({ id: "Readiness" });

const ConfigSchema = z
  .object({
    chainId: z.number().int(),
    rpcUrl: z.string().optional(),
    custodyAnchor: AddressOut,
    custodyEscrow: AddressOut.optional(),
    suggestedTrustPolicy: z.record(z.string(), z.unknown()).optional().meta({
      description:
        "a custody-trust-policy-v1 the platform suggests; supplied by the platform, so not independent (docs/checkpoints.md)",
    }),
  })
  .meta({ id: "ChainConfig" });

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyTimeoutError(what, ms)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const msg = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

export function systemRoutes(ctx: ApiContext): RouteDef[] {
  const { deps } = ctx;
  return [
    defineRoute({
      method: "get",
      path: "/health",
      operationId: "getHealth",
      summary: "Liveness: the process answers",
      tag: "system",
      access: "public",
      query: EmptyQuery,
      responses: { 200: { description: "alive", schema: HealthSchema } },
      handler: () => ({ body: { status: "ok" } }),
    }),
    defineRoute({
      method: "get",
      path: "/ready",
      operationId: "getReadiness",
      summary: "Readiness: log readable, chain reachable, relayer lag within bounds and no alarm",
      tag: "system",
      access: "public",
      query: EmptyQuery,
      responses: {
        200: { description: "ready", schema: ReadinessSchema },
        503: { description: "not ready (the body says which check failed)", schema: ReadinessSchema },
      },
      handler: async () => {
        const timeout = ctx.options.readinessTimeoutMs;
        const checks: z.infer<typeof ReadinessSchema>["checks"] = { log: { ok: false } };
        try {
          checks.log = {
            ok: true,
            treeSize: await withTimeout(Promise.resolve(deps.log.size()), timeout, "log"),
          };
        } catch (e) {
          checks.log = { ok: false, message: msg(e) };
        }
        if (deps.chain) {
          try {
            const n = await withTimeout(
              deps.chain.publicClient.getBlockNumber({ cacheTime: 0 }),
              timeout,
              "chain",
            );
            checks.chain = { ok: true, blockNumber: Number(n) };
          } catch (e) {
            checks.chain = { ok: false, message: msg(e) };
          }
        }
        if (deps.relayerStatus) {
          try {
            const s = await withTimeout(Promise.resolve(deps.relayerStatus.status()), timeout, "relayer");
            const failures = s.failuresInARow ?? 0;
            // The first reason that applies, each with what an operator needs to act on it.
            const reason = s.alarm
              ? `alarm: ${s.alarm.kind}: ${s.alarm.message}`
              : s.missingRoles?.length
                ? `relayer key ${s.account ?? ""} lacks ${s.missingRoles.join(", ")}`.replace("  ", " ")
                : failures >= ctx.options.maxRelayerFailures
                  ? `${failures} relayer steps failed in a row; last error: ${s.lastError ?? "unknown"}`
                  : s.lagSeconds > ctx.options.maxRelayerLagSeconds
                    ? `anchoring lags ${s.lagSeconds} s (limit ${ctx.options.maxRelayerLagSeconds} s)`
                    : undefined;
            checks.relayer = {
              ok: reason === undefined,
              leader: s.leader,
              lagEntries: s.lagEntries,
              lagSeconds: s.lagSeconds,
              failuresInARow: s.failuresInARow,
              lastError: s.lastError,
              missingRoles: s.missingRoles,
              alarm: s.alarm,
              message: reason,
            };
          } catch (e) {
            checks.relayer = { ok: false, message: msg(e) };
          }
        }
        if (deps.solvencyStatus) {
          const s = deps.solvencyStatus.status();
          checks.solvency = {
            ok: s.ok,
            shortfalls: s.shortfalls.map((f) => ({
              asset: f.asset,
              day: f.day,
              reserves: f.reserves.toString(),
              liabilities: f.liabilities.toString(),
            })),
            message: s.ok
              ? undefined
              : `critical: reserves below liabilities: ${s.shortfalls.map((f) => `${f.asset} ${f.day} (${f.reserves} < ${f.liabilities})`).join(", ")}`,
          };
        }
        if (deps.bank) {
          try {
            const s = await withTimeout(deps.bank.alarmSummary(), timeout, "bank");
            const open = Object.values(s.openBreaks).reduce((a, b) => a + b, 0);
            checks.bank = {
              ok: open === 0,
              openBreaks: s.openBreaks,
              segregationShortfall: s.shortfalls > 0,
              message:
                s.shortfalls > 0
                  ? "alarm: segregation shortfall (customer liabilities above the bank's closing balance)"
                  : open > 0
                    ? `alarm: ${open} open reconciliation break${open === 1 ? "" : "s"}`
                    : undefined,
            };
          } catch (e) {
            checks.bank = { ok: false, message: msg(e) };
          }
        }
        if (deps.risk) {
          try {
            const size = await withTimeout(deps.ledger.eventCount(), timeout, "risk");
            const lagEvents = Math.max(0, size - deps.risk.engine.cursor);
            const ok = lagEvents <= ctx.options.maxRiskLagEvents;
            checks.risk = {
              ok,
              lagEvents,
              message: ok
                ? undefined
                : `the rules engine is ${lagEvents} events behind (limit ${ctx.options.maxRiskLagEvents})`,
            };
          } catch (e) {
            checks.risk = { ok: false, message: msg(e) };
          }
        }
        const ready = [
          checks.log,
          checks.chain,
          checks.relayer,
          checks.solvency,
          checks.bank,
          checks.risk,
        ].every((c) => c === undefined || c.ok);
        const leaves = ctx.proofs.cachedLeaves();
        if (leaves !== undefined) checks.proofCache = { leaves };
        return { status: ready ? 200 : 503, body: { ready, checks } };
      },
    }),
    defineRoute({
      method: "get",
      path: "/config",
      operationId: "getChainConfig",
      summary: "Chain id, public RPC URL and contract addresses (for independent verification)",
      tag: "system",
      access: "public",
      query: EmptyQuery,
      responses: { 200: { description: "chain configuration", schema: ConfigSchema } },
      handler: () => {
        const chain = deps.chain;
        if (!chain) throw new NotConfiguredError("the chain");
        const d = chain.deployment;
        return {
          body: {
            chainId: d.chainId,
            rpcUrl: chain.rpcUrl,
            custodyAnchor: d.custodyAnchor.toLowerCase(),
            custodyEscrow: d.custodyEscrow?.toLowerCase(),
            suggestedTrustPolicy: deps.suggestedTrustPolicy,
          },
        };
      },
    }),
  ];
}
