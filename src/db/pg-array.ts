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

/** Element types a binary array parameter can carry, by their PostgreSQL type oid. */
const ELEMENT_OIDS = { text: 25, numeric: 1700, int8: 20 } as const;
export type BinaryElement = keyof typeof ELEMENT_OIDS;

/**
 * `values` as a one-dimensional array in PostgreSQL's binary format (array_send), the value of a
 * bound `text[]`/`numeric[]`/`bigint[]` parameter: node-postgres sends a Buffer as a binary
 * parameter. The server then reads each element by its receive function instead of parsing the
 * array text (array_in and numeric_in: ~10% of the server's CPU for a batch of transfers).
 * Elements: text as UTF-8; numeric as a decimal integer string (`-`? digits: the ledger's amounts
 * and balances, bigint.toString()); int8 as a safe integer. null is NULL.
 */
export function arrayBinary(type: BinaryElement, values: readonly (string | number | null)[]): Buffer {
  const n = values.length;
  // Upper bound: header, dimension, and per element its length word and at most 3 bytes per UTF-16 unit.
  let size = 20 + 4 * n;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null) continue;
    if (type === "int8") size += 8;
    else if (type === "numeric") size += 8 + 2 * Math.ceil(String(v).length / 4);
    else size += 3 * (v as string).length;
  }
  const buf = Buffer.allocUnsafe(size);
  let hasNull = 0;
  buf.writeInt32BE(n === 0 ? 0 : 1, 0); // dimensions (an empty array has none)
  buf.writeUInt32BE(ELEMENT_OIDS[type], 8);
  let off = 12;
  if (n > 0) {
    buf.writeInt32BE(n, 12);
    buf.writeInt32BE(1, 16); // lower bound
    off = 20;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null) {
      hasNull = 1;
      buf.writeInt32BE(-1, off);
      off += 4;
    } else if (type === "text") {
      const len = buf.write(v as string, off + 4, "utf8");
      buf.writeInt32BE(len, off);
      off += 4 + len;
    } else if (type === "int8") {
      const x = Number(v);
      if (!Number.isSafeInteger(x)) throw new RangeError(`not a safe integer for int8: ${String(v)}`);
      const hi = Math.floor(x / 4294967296);
      buf.writeInt32BE(8, off);
      buf.writeInt32BE(hi, off + 4);
      buf.writeUInt32BE(x - hi * 4294967296, off + 8);
      off += 12;
    } else off = numericInto(buf, off, String(v));
  }
  buf.writeInt32BE(hasNull, 4);
  return buf.subarray(0, off);
}

const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * A decimal integer as numeric_send writes it (length word first): base-10 000 digits, most
 * significant first, weight = digits − 1, scale 0. Zero groups at either end are allowed: the
 * server strips them (make_result).
 */
function numericInto(buf: Buffer, off: number, s: string): number {
  if (!DECIMAL_INTEGER.test(s)) throw new RangeError(`not a decimal integer for numeric: ${s}`);
  const negative = s.charCodeAt(0) === 45; // "-"
  const start = negative ? 1 : 0;
  const len = s.length - start;
  const ndigits = Math.ceil(len / 4);
  buf.writeInt32BE(8 + 2 * ndigits, off);
  buf.writeInt16BE(ndigits, off + 4);
  buf.writeInt16BE(ndigits - 1, off + 6); // weight
  buf.writeUInt16BE(negative ? 0x4000 : 0, off + 8);
  buf.writeInt16BE(0, off + 10); // display scale
  let p = off + 12;
  // The first group takes what is left over from groups of four.
  let end = start + (len % 4 || 4);
  for (let i = start; i < s.length; end += 4) {
    let d = 0;
    for (; i < end; i++) d = d * 10 + (s.charCodeAt(i) - 48);
    buf.writeUInt16BE(d, p);
    p += 2;
  }
  return p;
}
