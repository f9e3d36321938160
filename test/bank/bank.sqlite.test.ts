import fs from "node:fs";
import { tempSqliteUrl } from "../ledger/support";
import { bankBehaviour } from "./bank.behaviour";

describe("bank: statements and reconciliation (SQLite)", () => {
  bankBehaviour({ name: "sqlite", url: () => "" }, async () => {
    const { url, dir } = tempSqliteUrl("bank.db");
    return { url, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  });
});
