import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { expect } from "chai";
import {
  apiMigrations,
  createApiKey,
  hashApiKey,
  openApiKeyStore,
  revokeApiKey,
} from "../../src/api/auth/keys";
import { closeDatabase, openDatabase, type Database } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { describeWithPg } from "../support/pg";

function keyBehaviour(open: () => Promise<Database>) {
  let db: Database;
  before(async () => {
    db = await open();
    await migrate(db, apiMigrations);
  });
  after(async () => {
    await closeDatabase(db);
  });

  async function storedHashes(): Promise<string[]> {
    if (db.kind === "sqlite")
      return db.sqlite.prepare("SELECT key_hash FROM api_keys").pluck().all() as string[];
    return (await db.pool.query("SELECT key_hash FROM api_keys")).rows.map((r) => r.key_hash);
  }

  it("stores only the SHA-256 of a key and resolves the key to its role and scope", async () => {
    const { key, keyId } = await createApiKey(db, { role: "holder", accounts: ["alice", "alice-savings"] });
    expect(key).to.match(/^cal_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const hashes = await storedHashes();
    expect(hashes).to.include(hashApiKey(key));
    expect(JSON.stringify(hashes)).not.to.contain(key.slice(21));
    const store = openApiKeyStore(db, { cacheTtlMs: 0 });
    expect(await store.authenticate(key)).to.deep.equal({
      keyId,
      role: "holder",
      accounts: ["alice", "alice-savings"],
    });
    expect(await store.authenticate(key + "x")).to.equal(undefined);
    expect(await store.authenticate("")).to.equal(undefined);
  });

  it("stops accepting a revoked key (at once without cache, after the TTL with one)", async () => {
    const { key, keyId } = await createApiKey(db, { role: "platform" });
    let now = 1000;
    const cached = openApiKeyStore(db, { cacheTtlMs: 5000, now: () => now });
    const fresh = openApiKeyStore(db, { cacheTtlMs: 0 });
    expect((await cached.authenticate(key))?.role).to.equal("platform");
    expect(await revokeApiKey(db, keyId)).to.equal(true);
    expect(await fresh.authenticate(key)).to.equal(undefined);
    expect((await cached.authenticate(key))?.role).to.equal("platform");
    now += 5000;
    expect(await cached.authenticate(key)).to.equal(undefined);
    expect(await revokeApiKey(db, "0000000000000000")).to.equal(false);
  });

  it("rejects bad key requests with INVALID_ARGUMENT", async () => {
    for (const params of [
      { role: "holder" },
      { role: "auditor", accounts: ["alice"] },
      { role: "admin" },
      { role: "holder", accounts: [""] },
    ]) {
      const err = await createApiKey(db, params as never).catch((e) => e);
      expect(err.code, JSON.stringify(params)).to.equal("INVALID_ARGUMENT");
    }
  });
}

describe("api: keys (sqlite)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-keys-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  keyBehaviour(async () => openDatabase(path.join(dir, "keys.db")));
});

describeWithPg("api: keys (postgres)", (ctx) => {
  keyBehaviour(async () => openDatabase(ctx.url));
});
