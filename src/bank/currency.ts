import { StatementAmountError, UnknownCurrencyError } from "./errors";

/**
 * ISO 4217 minor-unit exponents (from the ISO 4217 list, amendment 177). Only active codes with a
 * defined exponent; funds and precious-metal codes (exponent N.A.) are absent on purpose.
 */
const EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
const EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND";
const EXPONENT_4 = "CLF UYW";
const EXPONENT_2 =
  "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD " +
  "CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD " +
  "HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD " +
  "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON " +
  "RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD " +
  "TZS UAH USD UYU UZS VES WST XCD XCG YER ZAR ZMW ZWG";

const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...EXPONENT_0.split(" ").map((c) => [c, 0] as const),
  ...EXPONENT_2.split(" ").map((c) => [c, 2] as const),
  ...EXPONENT_3.split(" ").map((c) => [c, 3] as const),
  ...EXPONENT_4.split(" ").map((c) => [c, 4] as const),
]);

/** The ISO 4217 exponent of `code` (JPY 0, EUR 2, KWD 3); throws UnknownCurrencyError. */
export function currencyExponent(code: string, where: string): number {
  const e = EXPONENTS.get(code);
  if (e === undefined)
    throw new UnknownCurrencyError(where, `unknown currency ${JSON.stringify(code)}`, {
      details: "expected an ISO 4217 code with a defined minor unit",
    });
  return e;
}

const MAX_AMOUNT = (1n << 128n) - 1n;
// ISO 20022 ActiveOrHistoricCurrencyAndAmount: up to 18 digits, at most 5 of them fractional.
const DECIMAL = /^(\d{1,18})(?:\.(\d{1,5}))?$/;

/**
 * A non-negative ISO 20022 decimal amount ("1234.5") as bigint minor units at `exponent`.
 * Never goes through a float. More fraction digits than the exponent allows are rejected unless
 * they are zeros ("100.00" in JPY is 100, "100.50" in JPY is an error).
 */
export function parseMinorUnits(text: string, exponent: number, where: string): bigint {
  const m = DECIMAL.exec(text.trim());
  if (!m)
    throw new StatementAmountError(where, `amount ${JSON.stringify(text)} is not an ISO 20022 decimal`, {
      details: "expected up to 18 digits with at most 5 after a '.', no sign or exponent",
    });
  const [, whole, frac = ""] = m;
  const kept = frac.slice(0, exponent);
  if (/[^0]/.test(frac.slice(exponent)))
    throw new StatementAmountError(
      where,
      `amount ${text} has more than ${exponent} minor digit${exponent === 1 ? "" : "s"}`,
    );
  const v = BigInt(whole + kept.padEnd(exponent, "0"));
  if (v > MAX_AMOUNT) throw new StatementAmountError(where, `amount ${text} is above 2^128 − 1 minor units`);
  return v;
}

/** Minor units back to the decimal text a bank writes ("-12.30" for -1230n at exponent 2). */
export function formatMinorUnits(v: bigint, exponent: number): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(exponent + 1, "0");
  const out = exponent === 0 ? s : `${s.slice(0, s.length - exponent)}.${s.slice(s.length - exponent)}`;
  return neg ? `-${out}` : out;
}
