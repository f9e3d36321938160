import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ts$/.test(e.name) && !e.parentPath.includes(`${path.sep}dist`))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** `new Error(…)` and its built-in kin, outside comments: each `file:line`. */
export function bareErrors(
  files: readonly string[],
  read = (f: string) => readFileSync(path.join(ROOT, f), "utf8"),
) {
  const found: string[] = [];
  for (const f of files)
    read(f)
      .split("\n")
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, "");
        if (/^\s*\*/.test(code)) return;
        if (/\bnew (Error|TypeError|RangeError|SyntaxError)\(/.test(code)) found.push(`${f}:${i + 1}`);
      });
  return found;
}

describe("errors: every error the project throws is a named CustodyError subclass", () => {
  it("src/ and web/ construct no bare Error", () => {
    const files = [...sources("src"), ...sources("web")];
    expect(files.length).to.be.greaterThan(100);
    expect(bareErrors(files)).to.deep.equal([]);
  });

  it("the check finds one where there is one (and skips comments)", () => {
    const text = [
      '// new Error("in a comment")',
      " * new Error(in a doc comment)",
      'if (x) throw new Error("bare");',
    ].join("\n");
    expect(bareErrors(["fixture.ts"], () => text)).to.deep.equal(["fixture.ts:3"]);
  });
});
