import { expect } from "chai";
import { PassThrough } from "node:stream";
import { auditProgressBar } from "../../src/cli/progress";

describe("cli: the audit's progress bar (cli-progress)", () => {
  it("draws one bar per phase with counts and percentage, then the total time", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += String(d)));
    const bar = auditProgressBar(out, true);
    bar.update({ phase: "events", done: 0, total: 1000 });
    bar.update({ phase: "events", done: 1000, total: 1000 });
    bar.update({ phase: "heads", done: 3, total: 3 });
    bar.done();
    expect(text).to.match(/events +\[[^\]]+\] 100% {2}1000\/1000/);
    expect(text).to.match(/heads +\[[^\]]+\] 100% {2}3\/3/);
    expect(text).to.match(/\d+\.\d s\n$/);
  });
});
