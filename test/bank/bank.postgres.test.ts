import { createPgTestDatabase, pgAvailable } from "../support/pg";
import { bankBehaviour } from "./bank.behaviour";

describe("bank: statements and reconciliation (PostgreSQL)", function () {
  before(async function () {
    if (!(await pgAvailable())) this.skip();
  });
  bankBehaviour({ name: "postgres", url: () => "" }, async () => createPgTestDatabase("custody_bank"));
});
