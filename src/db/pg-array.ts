/** PostgreSQL array values as text, for bound parameters and for inline literals. */

/**
 * `values` as the text of a PostgreSQL array, the value of a bound `text[]`/`numeric[]`/`bigint[]`
 * parameter: strings quoted (backslash and double quote escaped), null as NULL, numbers bare.
 * node-postgres would build the same text from a JS array, escaping each element with two regex
 * replaces; this tests once per element (bench:ledger-micro).
 */
export function arrayText(values: readonly (string | number | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ",";
    if (v === null) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else out += ARRAY_ESCAPED.test(v) ? `"${v.replace(ARRAY_ESCAPED_ALL, "\\$&")}"` : `"${v}"`;
  }
  return out + "}";
}
const ARRAY_ESCAPED = /["\\]/;
const ARRAY_ESCAPED_ALL = /["\\]/g;

/**
 * `values` as one SQL literal of a PostgreSQL array, for a statement sent without parameters: the
 * array text with the E'' literal's escapes on top (backslash and quote doubled), so its meaning
 * does not depend on `standard_conforming_strings`.
 */
export function arrayArg(values: readonly (string | number | null)[]): string {
  const text = arrayText(values);
  return `E'${LITERAL_ESCAPED.test(text) ? text.replace(LITERAL_ESCAPED_ALL, "$&$&") : text}'`;
}
const LITERAL_ESCAPED = /[\\']/;
const LITERAL_ESCAPED_ALL = /[\\']/g;
