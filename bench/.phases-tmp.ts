import { XMLParser, XMLValidator } from "fast-xml-parser";
import { writeCamt053 } from "/work/wt-bank/src/bank/camt053-writer";
import { parseCamt053 } from "/work/wt-bank/src/bank/camt053";
import { statementContent } from "/work/wt-bank/src/bank/statement";
import { createHash } from "node:crypto";
const N = Number(process.argv[2] ?? 100000);
const DAY = "2026-11-30";
let closing = 0n;
const entries = Array.from({ length: N }, (_, i) => { const amount = BigInt(100 + (i % 9900)); closing += amount;
  return { index: i, amount, direction: "credit" as const, status: "booked" as const, reversal: false, bookingDate: DAY, valueDate: DAY, endToEndId: `E2E-${i}`, accountServicerRef: `ASR-${i}` }; });
const s = { id: "B", account: "DE89370400440532013000", currency: "EUR", exponent: 2, page: 1, lastPage: true,
  opening: { type: "OPBD" as const, amount: 0n, date: DAY }, closing: { type: "CLBD" as const, amount: closing, date: DAY }, entries };
const xml = Buffer.from(writeCamt053([s], { version: "08", messageId: "B", createdAt: `${DAY}T18:00:00Z` }));
const str = xml.toString("utf8");
const cpu = (f: () => unknown, name: string) => { const c = process.cpuUsage(); const t = performance.now(); f(); const u = process.cpuUsage(c);
  console.log(name.padEnd(28), "cpu", Math.round((u.user + u.system) / 1000), "ms wall", Math.round(performance.now() - t)); };
const REPEATED = new Set(["Stmt", "Bal", "Ntry", "NtryDtls", "TxDtls"]);
const ours = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, trimValues: true, processEntities: true, isArray: (n) => REPEATED.has(n) });
const noEnt = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, trimValues: true, processEntities: false, isArray: (n) => REPEATED.has(n) });
const rootReader = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseTagValue: false, stopNodes: ["*.BkToCstmrStmt"] });
const plain = new XMLParser({ ignoreAttributes: false });
for (let r = 0; r < 2; r++) {
  console.log("round", r, "MB", (xml.length / 1e6).toFixed(1));
  cpu(() => xml.toString("utf8"), "toString");
  cpu(() => XMLValidator.validate(str), "XMLValidator.validate");
  cpu(() => plain.parse(xml), "plain parse (bench)");
  cpu(() => ours.parse(str), "our parser options");
  cpu(() => noEnt.parse(str), "ours, processEntities off");
  cpu(() => rootReader.parse(str), "rootReader");
  let doc: any;
  cpu(() => (doc = parseCamt053(xml)), "parseCamt053 total");
  cpu(() => createHash("sha256").update(statementContent(doc.statements[0])).digest("hex"), "content+sha256");
  cpu(() => createHash("sha256").update(xml).digest("hex"), "sha256 raw");
}
