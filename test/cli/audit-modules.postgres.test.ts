import { createPgTestDatabase, pgAvailable } from "../support/pg";
import { moduleAuditBehaviour } from "./audit-modules.behaviour";

describe("custody audit modules on PostgreSQL", function () {
  before(async function () {
    if (!(await pgAvailable())) this.skip();
  });
  moduleAuditBehaviour("PostgreSQL", () => createPgTestDatabase("custody_audit_modules"));
});
