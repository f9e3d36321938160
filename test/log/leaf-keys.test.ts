import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabase, openDatabase } from "../../src/db/database";
import { openLogStore } from "../../src/log/store";
import {
  LEAF_EPOCH_SIZE,
  buildLeafFilter,
  epochCount,
  leafEpoch,
  leafFilterMayHave,
  leafPrefix,
  sealedEpochs,
} from "../../src/log/leaf-keys";

describe("log/leaf-keys", () => {
  it("prefix is the first 6 bytes big-endian; epochs are 2^16 leaves", () => {
    const h = new Uint8Array(32).fill(0xff);
    expect(leafPrefix(h)).to.equal(2 ** 48 - 1);
    h.set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
    expect(leafPrefix(h)).to.equal(0x010203040506);
    expect([leafEpoch(0), leafEpoch(65_535), leafEpoch(65_536)]).to.deep.equal([0, 0, 1]);
    expect([epochCount(0), epochCount(1), epochCount(65_536), epochCount(65_537)]).to.deep.equal([
      0, 1, 1, 2,
    ]);
  });

  it("sealedEpochs names the epochs an append fills", () => {
    const E = LEAF_EPOCH_SIZE;
    expect(sealedEpochs(0, E - 1)).to.deep.equal([]);
    expect(sealedEpochs(0, E)).to.deep.equal([0]);
    expect(sealedEpochs(E - 1, E)).to.deep.equal([0]);
    expect(sealedEpochs(E, E + 1)).to.deep.equal([]);
    expect(sealedEpochs(10, 3 * E + 5)).to.deep.equal([0, 1, 2]);
  });

  it("a filter never rejects a prefix it holds and rejects most others", () => {
    const held = Array.from({ length: LEAF_EPOCH_SIZE }, () => leafPrefix(randomBytes(32)));
    const bits = buildLeafFilter(held);
    for (const p of held) expect(leafFilterMayHave(bits, p)).to.equal(true);
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if (leafFilterMayHave(bits, leafPrefix(randomBytes(32)))) passed++;
    expect(passed).to.be.below(2_000); // ~12 % expected
  });

  it("epochs without a stored filter (sealed before log/003) are still searched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "custody-log-keys-"));
    const file = join(dir, "log.db");
    const db = openDatabase(file);
    try {
      const s = await openLogStore(db);
      const hs = Array.from({ length: 2 * LEAF_EPOCH_SIZE + 10 }, () => randomBytes(32));
      for (let size = 0; size < hs.length;) size = await s.append(size, hs.slice(size, size + 50_000));
      if (db.kind !== "sqlite") throw new Error("sqlite expected");
      expect(db.sqlite.prepare("SELECT count(*) FROM log_leaf_filters").pluck().get()).to.equal(2);
      db.sqlite.prepare("DELETE FROM log_leaf_filters WHERE epoch = 0").run();
      const fresh = await openLogStore(db);
      for (const i of [0, 77, LEAF_EPOCH_SIZE - 1, LEAF_EPOCH_SIZE, 2 * LEAF_EPOCH_SIZE + 9])
        expect(await fresh.findLeaf(hs[i]), `leaf ${i}`).to.equal(i);
      expect(await fresh.findLeaf(randomBytes(32))).to.equal(undefined);
    } finally {
      await closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
