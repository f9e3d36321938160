import { DEFAULT_RULE_FILE } from "../../src/risk/rules-file";

/** Default rules with small limits, so a short random workload raises many alerts. */
export const CRASH_RULES = JSON.stringify({
  ...DEFAULT_RULE_FILE,
  rules: DEFAULT_RULE_FILE.rules.map((r) => {
    if (r.type === "large_value") return { ...r, threshold: "300" };
    if (r.type === "structuring") return { ...r, threshold: "150", marginPercent: 30, count: 2 };
    if (r.type === "velocity") return { ...r, count: 3 };
    if (r.type === "pass_through") return { ...r, minAmount: "10", minPercent: 50 };
    return r;
  }),
});
