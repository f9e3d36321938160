import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InvalidRuleFileError } from "./errors";
import { type Rate, majorToMinor, parseDecimal } from "./rates";

/**
 * The rule file, format `custody-risk-rules-v1` (spec: docs/risk-rules-v1.md): JSON or YAML, validated
 * with zod, compiled once into thresholds in minor units and exact rates. A file that does not
 * validate is refused as a whole and the rules in force stay.
 */
export const RULE_FILE_FORMAT = "custody-risk-rules-v1";

const decimal = z.string().regex(/^\d{1,30}(\.\d{1,18})?$/, 'a decimal string such as "50000" or "7.1"');
const minutes = z
  .number()
  .int()
  .min(1)
  .max(366 * 24 * 60);
const ruleBase = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "lower-case letters, digits, '.', '_' or '-'"),
  severity: z.enum(["low", "medium", "high", "critical"]),
  /** `freeze` also freezes the subject account (debits refused, credits still post). */
  action: z.enum(["alert", "freeze"]).default("alert"),
  enabled: z.boolean().default(true),
  description: z.string().max(500).optional(),
};

const ruleSchema = z.discriminatedUnion("type", [
  z.strictObject({
    ...ruleBase,
    type: z.literal("large_value"),
    /** cash: the counterparty is a settlement account whose metadata says channel "cash". */
    channel: z.enum(["cash", "transfer"]),
    holder: z.enum(["any", "individual", "company"]),
    scope: z.enum(["any", "domestic", "cross_border"]),
    /** In major units of the reporting currency, accumulated per customer, day, direction and asset. */
    threshold: decimal,
  }),
  z.strictObject({
    ...ruleBase,
    type: z.literal("structuring"),
    threshold: decimal,
    /** An amount counts if it lies in [threshold × (100 − marginPercent)%, threshold). */
    marginPercent: z.number().int().min(1).max(50),
    count: z.number().int().min(2).max(1000),
    windowMinutes: minutes,
  }),
  z.strictObject({
    ...ruleBase,
    type: z.literal("velocity"),
    count: z.number().int().min(2).max(100_000),
    windowMinutes: minutes,
  }),
  z.strictObject({
    ...ruleBase,
    type: z.literal("pass_through"),
    windowMinutes: minutes,
    /** The debit is at least this share of an earlier credit. */
    minPercent: z.number().int().min(1).max(100),
    /** The credit is at least this much (major units of the reporting currency). */
    minAmount: decimal,
  }),
  z.strictObject({
    ...ruleBase,
    type: z.literal("dormant"),
    inactiveDays: z.number().int().min(1).max(3650),
  }),
  z.strictObject({ ...ruleBase, type: z.literal("segregation_refusal") }),
  z.strictObject({ ...ruleBase, type: z.literal("reconciliation_break") }),
  z.strictObject({ ...ruleBase, type: z.literal("reserve_shortfall") }),
  z.strictObject({ ...ruleBase, type: z.literal("anchor_lag"), maxSeconds: z.number().int().min(1) }),
]);

export const ruleFileSchema = z
  .strictObject({
    format: z.literal(RULE_FILE_FORMAT),
    /** Increases with every change; a reload to a lower or equal revision is refused. */
    revision: z.number().int().min(1),
    /** Offset of the reporting day from UTC (PBOC days are Beijing time: 480). */
    timezoneOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    currency: z.strictObject({
      code: z.string().regex(/^[A-Z0-9]{1,32}$/),
      scale: z.number().int().min(0).max(18),
    }),
    /** Reporting-currency major units per one major unit of each asset. No entry: "cannot evaluate". */
    rates: z.record(z.string().regex(/^[\x21-\x7e]{1,32}$/), decimal).default({}),
    rules: z.array(ruleSchema).max(500),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of f.rules.entries()) {
      if (seen.has(r.id))
        ctx.addIssue({ code: "custom", path: ["rules", i, "id"], message: `duplicate rule id ${r.id}` });
      seen.add(r.id);
    }
  });

export type RuleFile = z.output<typeof ruleFileSchema>;
export type RuleSpec = RuleFile["rules"][number];
export type RuleType = RuleSpec["type"];
export type Severity = RuleSpec["severity"];

/** A rule with its amounts in reporting minor units. */
export type CompiledRule = RuleSpec & { thresholdMinor?: bigint; minAmountMinor?: bigint };

export interface CompiledRules {
  revision: number;
  /** SHA-256 of the file's bytes as given (what RULES_CHANGED records). */
  sourceHash: `0x${string}`;
  /** The file as given, kept so a later audit can re-hash it. */
  source: string;
  file: RuleFile;
  dayOffsetMs: number;
  currency: { code: string; scale: number };
  rate(asset: string): Rate | undefined;
  rules: CompiledRule[];
  byType<T extends RuleType>(type: T): (CompiledRule & { type: T })[];
}

/** Parses (JSON, or YAML when it does not start with "{"), validates and compiles a rule file. */
export function compileRuleFile(source: string): CompiledRules {
  if (typeof source !== "string" || source.length === 0 || source.length > 1_000_000)
    throw new InvalidRuleFileError("a rule file must be non-empty text of at most 1 MB");
  let raw: unknown;
  try {
    raw = source.trimStart().startsWith("{") ? JSON.parse(source) : parseYaml(source);
  } catch (e) {
    throw new InvalidRuleFileError("the rule file is neither valid JSON nor YAML", {
      details: String((e as Error).message).split("\n")[0],
      cause: e,
    });
  }
  const parsed = ruleFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new InvalidRuleFileError(`the rule file is not valid ${RULE_FILE_FORMAT}`, {
      details: z.prettifyError(parsed.error),
    });
  const file = parsed.data;
  const scale = file.currency.scale;
  const rates = new Map<string, Rate>();
  for (const [asset, text] of Object.entries(file.rates)) {
    const r = parseDecimal(text, `rate of ${asset}`);
    if (r.num === 0n) throw new InvalidRuleFileError(`rate of ${asset} must be positive`);
    rates.set(asset, r);
  }
  if (!rates.has(file.currency.code)) rates.set(file.currency.code, { num: 1n, den: 1n });
  const rules: CompiledRule[] = file.rules
    .filter((r) => r.enabled)
    .map((r) => {
      const c: CompiledRule = { ...r };
      if ("threshold" in r) c.thresholdMinor = majorToMinor(r.threshold, scale, `threshold of ${r.id}`);
      if ("minAmount" in r) c.minAmountMinor = majorToMinor(r.minAmount, scale, `minAmount of ${r.id}`);
      return c;
    });
  return {
    revision: file.revision,
    sourceHash: `0x${createHash("sha256").update(source, "utf8").digest("hex")}`,
    source,
    file,
    dayOffsetMs: file.timezoneOffsetMinutes * 60_000,
    currency: file.currency,
    rate: (asset) => rates.get(asset),
    rules,
    byType: <T extends RuleType>(type: T) =>
      rules.filter((r) => r.type === type) as (CompiledRule & { type: T })[],
  };
}

/**
 * The default rules. Large-value thresholds are the PBOC's (Order [2016] No. 3, art. 5): cash ≥
 * ¥50 000; company-account transfers ≥ ¥2 000 000; individual domestic transfers ≥ ¥500 000;
 * individual cross-border transfers ≥ ¥200 000. The other limits are starting points to tune.
 * Rates are examples: an operator must set today's table before relying on conversions.
 */
export const DEFAULT_RULE_FILE: RuleFile = {
  format: RULE_FILE_FORMAT,
  revision: 1,
  timezoneOffsetMinutes: 480,
  currency: { code: "CNY", scale: 2 },
  rates: { CNY: "1" },
  rules: [
    {
      id: "pboc.lv.cash",
      type: "large_value",
      severity: "high",
      action: "alert",
      enabled: true,
      channel: "cash",
      holder: "any",
      scope: "any",
      threshold: "50000",
    },
    {
      id: "pboc.lv.company",
      type: "large_value",
      severity: "high",
      action: "alert",
      enabled: true,
      channel: "transfer",
      holder: "company",
      scope: "any",
      threshold: "2000000",
    },
    {
      id: "pboc.lv.individual.domestic",
      type: "large_value",
      severity: "high",
      action: "alert",
      enabled: true,
      channel: "transfer",
      holder: "individual",
      scope: "domestic",
      threshold: "500000",
    },
    {
      id: "pboc.lv.individual.crossborder",
      type: "large_value",
      severity: "high",
      action: "alert",
      enabled: true,
      channel: "transfer",
      holder: "individual",
      scope: "cross_border",
      threshold: "200000",
    },
    {
      id: "structuring.cash",
      type: "structuring",
      severity: "high",
      action: "alert",
      enabled: true,
      threshold: "50000",
      marginPercent: 10,
      count: 3,
      windowMinutes: 1440,
    },
    {
      id: "velocity.debits",
      type: "velocity",
      severity: "medium",
      action: "alert",
      enabled: true,
      count: 20,
      windowMinutes: 60,
    },
    {
      id: "pass-through",
      type: "pass_through",
      severity: "medium",
      action: "alert",
      enabled: true,
      windowMinutes: 30,
      minPercent: 90,
      minAmount: "10000",
    },
    {
      id: "dormant.reactivated",
      type: "dormant",
      severity: "low",
      action: "alert",
      enabled: true,
      inactiveDays: 180,
    },
    {
      id: "segregation.refused",
      type: "segregation_refusal",
      severity: "critical",
      action: "alert",
      enabled: true,
    },
    {
      id: "bank.reconciliation-break",
      type: "reconciliation_break",
      severity: "high",
      action: "alert",
      enabled: true,
    },
    {
      id: "solvency.reserve-shortfall",
      type: "reserve_shortfall",
      severity: "critical",
      action: "alert",
      enabled: true,
    },
    {
      id: "anchor.lag",
      type: "anchor_lag",
      severity: "high",
      action: "alert",
      enabled: true,
      maxSeconds: 600,
    },
  ],
};

export const DEFAULT_RULE_SOURCE = JSON.stringify(DEFAULT_RULE_FILE, null, 2);
