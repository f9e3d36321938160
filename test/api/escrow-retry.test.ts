import { expect } from "chai";
import { seedLedger, startApiStack, type ApiStack } from "./support/stack";

/**
 * A client that got no answer resends with the same id. For an escrow the original may have been
 * applied and its expiry passed by the time the resend arrives (a restart in between): the resend
 * must get the original escrow, not a refusal of a new one.
 */
describe("api: an escrow resent after its expiry", function () {
  let s: ApiStack;
  let now = Date.now();
  before(async () => {
    s = await startApiStack({ options: { now: () => now } });
    await seedLedger(s);
  });
  after(async () => {
    await s?.stop();
  });

  const body = () => ({
    id: "esc-retry",
    payer: "alice",
    payee: "bob",
    asset: "EUR",
    amount: "700",
    approvers: ["0x" + "a1".repeat(20)],
    threshold: 1,
    expiresAt: Math.floor(now / 1000) + 40,
    agreementHash: "0x" + "cd".repeat(32),
  });

  it("returns the original escrow, and still refuses a new one that has expired or another body", async () => {
    const sent = body();
    const first = await s.call("POST", "/v1/escrows", { key: s.keys.platform, body: sent });
    expect(first.status).to.equal(201);
    now += 60_000;
    const again = await s.call("POST", "/v1/escrows", { key: s.keys.platform, body: sent });
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
    expect(again.body.escrowId).to.equal(first.body.escrowId);
    expect(again.body.hold.sequence).to.equal(first.body.hold.sequence);
    const bal = await s.call("GET", "/v1/accounts/alice/balance", { key: s.keys.platform });
    expect(bal.body.pending).to.equal("700");

    const changed = await s.call("POST", "/v1/escrows", {
      key: s.keys.platform,
      body: { ...sent, amount: "701" },
    });
    expect(changed.status).to.equal(409);
    const expiredNew = await s.call("POST", "/v1/escrows", {
      key: s.keys.platform,
      body: { ...sent, id: "esc-retry-2" },
    });
    expect(expiredNew.status).to.equal(400);
    expect(expiredNew.body.error.message).to.match(/expiresAt must be in the future/);
  });
});
