import { InvalidRuleFileError } from "./errors";

/**
 * Exact money arithmetic for the rules: amounts stay bigint minor units and a rate is a fraction
 * `num / den` (reporting-currency major units per asset major unit), so a comparison against a
 * threshold never rounds.
 */
export interface Rate {
  num: bigint;
  den: bigint;
}

const DECIMAL = /^(\d{1,30})(?:\.(\d{1,18}))?$/;

/** "7.1234" → 71234/10000. Precondition: the text matched the rule file's decimal pattern. */
export function parseDecimal(text: string, what: string): Rate {
  const m = DECIMAL.exec(text);
  if (!m) throw new InvalidRuleFileError(`${what} must be a decimal string`, { details: `got ${text}` });
  const frac = m[2] ?? "";
  return { num: BigInt(m[1] + frac), den: 10n ** BigInt(frac.length) };
}

/** A decimal amount in major units as minor units of `scale`; refuses digits below the minor unit. */
export function majorToMinor(text: string, scale: number, what: string): bigint {
  const r = parseDecimal(text, what);
  const v = r.num * 10n ** BigInt(scale);
  if (v % r.den !== 0n)
    throw new InvalidRuleFileError(`${what} has more decimals than the currency's ${scale}`, {
      details: `got ${text}`,
    });
  return v / r.den;
}

/**
 * Compares `amount` minor units of an asset (scale `assetScale`) converted at `rate` with
 * `threshold` minor units of the reporting currency (scale `reportScale`): −1, 0 or 1.
 */
const POW10: bigint[] = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));
const pow10 = (n: number): bigint => POW10[n] ?? 10n ** BigInt(n);

export function compareConverted(
  amount: bigint,
  assetScale: number,
  rate: Rate,
  threshold: bigint,
  reportScale: number,
): -1 | 0 | 1 {
  // amount·num·10^r / (den·10^s)  vs  threshold
  const left = amount * rate.num * pow10(reportScale);
  const right = threshold * rate.den * pow10(assetScale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The converted amount in reporting minor units, rounded down (for reports; never for decisions). */
export function convertFloor(amount: bigint, assetScale: number, rate: Rate, reportScale: number): bigint {
  return (amount * rate.num * pow10(reportScale)) / (rate.den * pow10(assetScale));
}
