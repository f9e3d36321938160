import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { moduleAuditBehaviour } from "./audit-modules.behaviour";

moduleAuditBehaviour("SQLite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-audit-modules-db-"));
  return {
    url: path.join(dir, "ledger.db"),
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
