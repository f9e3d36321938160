/** PostgreSQL array values: as text or binary for bound parameters, as literals for inline SQL. */
import { InvariantError } from "../errors";

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
  // Bytes are stored one by one: Buffer's write methods cost a call and a range check each,
  // which for short elements is most of the work (bench:ledger-micro).
  const buf = Buffer.allocUnsafe(size);
  let hasNull = 0;
  int32(buf, 0, n === 0 ? 0 : 1); // dimensions (an empty array has none)
  int32(buf, 8, ELEMENT_OIDS[type]);
  let off = 12;
  if (n > 0) {
    int32(buf, 12, n);
    int32(buf, 16, 1); // lower bound
    off = 20;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null) {
      hasNull = 1;
      int32(buf, off, -1);
      off += 4;
    } else if (type === "text") off = textInto(buf, off, v as string);
    else if (type === "int8") {
      const x = typeof v === "number" ? v : Number(v);
      if (!Number.isSafeInteger(x))
        throw new InvariantError("an int8 array element is not a safe integer", { details: String(v) });
      const hi = Math.floor(x / 4294967296);
      int32(buf, off, 8);
      int32(buf, off + 4, hi);
      int32(buf, off + 8, x - hi * 4294967296);
      off += 12;
    } else off = numericInto(buf, off, String(v));
  }
  int32(buf, 4, hasNull);
  return buf.subarray(0, off);
}

/** `x` (a 32-bit integer, signed or not) big-endian at `off`. */
function int32(buf: Buffer, off: number, x: number): void {
  buf[off] = x >>> 24;
  buf[off + 1] = x >>> 16;
  buf[off + 2] = x >>> 8;
  buf[off + 3] = x;
}

/** A text element (length word first): ASCII byte by byte, anything else as UTF-8 by Buffer. */
function textInto(buf: Buffer, off: number, s: string): number {
  const len = s.length;
  let i = 0;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    buf[off + 4 + i] = c;
  }
  const bytes = i === len ? len : i + buf.write(s.slice(i), off + 4 + i, "utf8");
  int32(buf, off, bytes);
  return off + 4 + bytes;
}

/**
 * A decimal integer as numeric_send writes it (length word first): base-10 000 digits, most
 * significant first, weight = digits − 1, scale 0. Zero groups at either end are allowed: the
 * server strips them (make_result).
 */
function numericInto(buf: Buffer, off: number, s: string): number {
  const negative = s.charCodeAt(0) === 45; // "-"
  const start = negative ? 1 : 0;
  const len = s.length - start;
  if (len === 0) throw new InvariantError("a numeric array element is not a decimal integer", { details: s });
  const ndigits = Math.ceil(len / 4);
  int32(buf, off, 8 + 2 * ndigits);
  buf[off + 4] = ndigits >>> 8;
  buf[off + 5] = ndigits;
  buf[off + 6] = (ndigits - 1) >>> 8; // weight
  buf[off + 7] = ndigits - 1;
  buf[off + 8] = negative ? 0x40 : 0; // sign
  buf[off + 9] = 0;
  buf[off + 10] = 0; // display scale
  buf[off + 11] = 0;
  let p = off + 12;
  // The first group takes what is left over from groups of four.
  let end = start + (len % 4 || 4);
  for (let i = start; i < s.length; end += 4) {
    let d = 0;
    for (; i < end; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9)
        throw new InvariantError("a numeric array element is not a decimal integer", { details: s });
      d = d * 10 + c;
    }
    buf[p] = d >>> 8;
    buf[p + 1] = d;
    p += 2;
  }
  return p;
}
