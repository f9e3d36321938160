import { parseCamt053 } from "./camt053";
import { detectFormat, parseStatementJson } from "./json-feed";
import type { BankDocument } from "./statement";

/** A statement document in any supported form (camt.053 001.02/001.08 XML or the JSON feed). */
export function parseStatementDocument(raw: Uint8Array): BankDocument {
  return detectFormat(raw) === "xml" ? parseCamt053(raw) : parseStatementJson(raw);
}
