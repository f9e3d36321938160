// Prints one closing line over every test run of `npm test`; fails if a run left no tally.
import fs from "node:fs";
const expected = ["contracts", "ts"];
let passed = 0,
  failed = 0,
  skipped = 0;
for (const suite of expected) {
  const file = `.test-results/${suite}.json`;
  if (!fs.existsSync(file)) {
    console.error(`test run "${suite}" left no results (${file})`);
    process.exit(1);
  }
  const t = JSON.parse(fs.readFileSync(file, "utf8"));
  console.log(`${suite}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
  passed += t.passed;
  failed += t.failed;
  skipped += t.skipped;
}
if (passed === 0) {
  console.error("no test ran");
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
