import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { GENERATED_ABI_PATH, renderAbiModule } from "../../scripts/gen-abi";

describe("chain: generated ABI module", function () {
  it("matches what the current Hardhat artifacts generate (run `npm run gen:abi` after changing contracts)", function () {
    const artifacts = path.resolve(
      __dirname,
      "../../artifacts/contracts/CustodyAnchor.sol/CustodyAnchor.json",
    );
    expect(fs.existsSync(artifacts), "no Hardhat artifacts: run `npm run compile` first").to.equal(true);
    expect(fs.readFileSync(GENERATED_ABI_PATH, "utf8")).to.equal(renderAbiModule());
  });
});
