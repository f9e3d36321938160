// Mocha reporter: the spec output, plus a machine-readable tally per suite in .test-results/
// so that `npm test` can print one closing line for all runs ("N passed, N failed, N skipped").
"use strict";
const fs = require("fs");
const path = require("path");
const Mocha = require("mocha");
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class TallyReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const suite = (options.reporterOptions && options.reporterOptions.suite) || "tests";
    const tally = { suite, passed: 0, failed: 0, skipped: 0 };
    runner.on(EVENT_TEST_PASS, () => tally.passed++);
    runner.on(EVENT_TEST_FAIL, () => tally.failed++);
    runner.on(EVENT_TEST_PENDING, () => tally.skipped++);
    runner.once(EVENT_RUN_END, () => {
      const dir = path.resolve(".test-results");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${suite}.json`), JSON.stringify(tally));
    });
  }
}
module.exports = TallyReporter;
