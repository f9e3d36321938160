import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openApiKeyStore } from "../../src/api/auth/keys";
import { runCli } from "../../src/cli/main";
import { closeDatabase, openDatabase } from "../../src/db/database";

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("cli: custody keys", function () {
  let dir: string;
  let db: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-keys-"));
    db = path.join(dir, "ledger.db");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates, lists and revokes keys; the key works until revoked and is never listed", async () => {
    const created = await cli(["keys", "create", "--role", "auditor", "--db", db, "--json"]);
    expect(created.code, created.err).to.equal(0);
    const { key, keyId } = JSON.parse(created.out) as { key: string; keyId: string };
    const holder = await cli(["keys", "create", "--role", "holder", "--account", "alice", "bob", "--db", db]);
    expect(holder.code, holder.err).to.equal(0);

    const d = openDatabase(db);
    try {
      const store = openApiKeyStore(d, { cacheTtlMs: 0 });
      expect(await store.authenticate(key)).to.deep.include({ keyId, role: "auditor" });
      expect(await store.authenticate(holder.out.trim())).to.deep.include({
        role: "holder",
        accounts: ["alice", "bob"],
      });

      const listed = await cli(["keys", "list", "--db", db, "--json"]);
      expect(listed.code).to.equal(0);
      expect(listed.out).to.not.contain(key);
      const list = JSON.parse(listed.out) as { keyId: string; role: string; revoked: boolean }[];
      expect(list.map((k) => k.role)).to.deep.equal(["auditor", "holder"]);

      const revoked = await cli(["keys", "revoke", keyId, "--db", db]);
      expect(revoked.code).to.equal(0);
      expect(await store.authenticate(key)).to.equal(undefined);
      expect(JSON.parse((await cli(["keys", "list", "--db", db, "--json"])).out)[0]).to.include({
        revoked: true,
      });
    } finally {
      await closeDatabase(d);
    }
  });

  it("refuses an unknown role, a holder without accounts and an unknown key id, changing nothing", async () => {
    expect((await cli(["keys", "create", "--role", "root", "--db", db])).code).to.equal(2);
    const noAccounts = await cli(["keys", "create", "--role", "holder", "--db", db]);
    expect(noAccounts.code).to.equal(2);
    expect(noAccounts.err).to.contain("holder key needs at least one account");
    expect((await cli(["keys", "revoke", "0123456789abcdef", "--db", db])).code).to.equal(1);
    expect((await cli(["keys", "revoke", "nothex", "--db", db])).code).to.equal(2);
    expect(JSON.parse((await cli(["keys", "list", "--db", db, "--json"])).out)).to.have.length(2);
  });
});
