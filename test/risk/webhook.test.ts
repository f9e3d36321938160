import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { RiskEngine, webhookSignature } from "../../src/risk";
import { pendingOutbox } from "../../src/risk/outbox";
import { cashIn, openAccounts, openRiskLedger } from "./fixture";
import { rulesWith } from "./support";

describe("risk webhook: HMAC-signed, retried with backoff, no alert skipped", () => {
  it("delivers every alert once the receiver recovers; the signature verifies with the shared secret", async () => {
    const got: { body: string; sig: string; ts: string }[] = [];
    let failures = 2;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        if (failures-- > 0) return void res.writeHead(503).end();
        got.push({
          body,
          sig: String(req.headers["x-custody-signature"]),
          ts: String(req.headers["x-custody-timestamp"]),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const env = await openRiskLedger();
    await openAccounts(env.ledger);
    let now = Date.now();
    const secret = "test-secret-from-env";
    const engine = await RiskEngine.open(env.db, env.ledger, env.ledger, {
      rules: rulesWith(["pboc.lv.cash"]),
      webhook: { url, secret },
      clock: () => now,
    });
    try {
      await cashIn(env.ledger, "alice", 5_000_000n);
      await cashIn(env.ledger, "bob", 5_000_000n);
      await engine.drain();
      await engine.publish(); // both deliveries fail (503 twice)
      expect(got).to.have.length(0);
      expect((await pendingOutbox(engine.runner)).webhook).to.equal(2);
      await engine.publish(); // not due yet: backoff
      expect(got).to.have.length(0);
      now += 1000;
      await engine.publish();
      expect(got).to.have.length(2);
      expect((await pendingOutbox(engine.runner)).webhook ?? 0).to.equal(0);
      for (const g of got) {
        expect(g.sig).to.equal(webhookSignature(secret, g.ts, g.body));
        expect(g.sig).to.not.equal(webhookSignature("another secret", g.ts, g.body));
        expect(JSON.parse(g.body)).to.include({ format: "custody-risk-alert-v1", ruleId: "pboc.lv.cash" });
      }
      expect(got.map((g) => JSON.parse(g.body).subject).sort()).to.deep.equal(["alice", "bob"]);
    } finally {
      await env.close();
      server.close();
    }
  });
});
