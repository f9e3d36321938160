import { expect } from "chai";
import fc from "fast-check";
import type { Hex } from "viem";
import { FindingList, LedgerReplay, checkEscrows, readLeaf } from "../../src/audit";
import type { OnChainEscrow } from "../../src/chain/actions/read-escrow";
import {
  ZERO32,
  decodeLeaf,
  encodeLeaf,
  type EventTypeName,
  type LeafEntry,
} from "../../src/protocol/leaf-v1";
import { ACCOUNT_TYPES, TRANSFER_KINDS } from "../../src/ledger/types";
import { anyLeafEntry } from "../support/leaf-entries";
import { leafWord, readLeafScalars, wordIs } from "../../src/audit/leaf";

describe("audit: fast leaf reader", () => {
  it("reads exactly what decodeLeaf reads", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const bytes = encodeLeaf(e);
        expect(readLeaf(bytes)).to.deep.equal(decodeLeaf(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects whatever decodeLeaf rejects (one byte flipped anywhere)", () => {
    fc.assert(
      fc.property(anyLeafEntry, fc.nat({ max: 415 }), fc.integer({ min: 1, max: 255 }), (e, at, x) => {
        const bytes = encodeLeaf(e);
        bytes[at] ^= x;
        let ref: LeafEntry | undefined;
        try {
          ref = decodeLeaf(bytes);
        } catch {
          ref = undefined;
        }
        const got = readLeaf(bytes);
        if (ref === undefined) expect(got).to.be.a("string");
        else expect(got).to.deep.equal(ref);
      }),
      { numRuns: 1000 },
    );
    expect(readLeaf(new Uint8Array(415))).to.match(/416 bytes/);
  });

  it("reads the same scalars and words without hex (readLeafScalars, wordIs, leafWord)", () => {
    fc.assert(
      fc.property(anyLeafEntry, (e) => {
        const bytes = Buffer.from(encodeLeaf(e));
        const full = readLeaf(bytes);
        const s = readLeafScalars(bytes);
        if (typeof full === "string") return void expect(s).to.equal(full);
        if (typeof s === "string") throw new Error(s);
        const { bytes: _b, ...scalars } = s;
        expect(full).to.deep.include(scalars);
        const debit = Buffer.from(full.debitAccount.slice(2), "hex");
        expect(wordIs(bytes, 6, debit)).to.equal(true);
        expect(wordIs(bytes, 6, Buffer.alloc(32, 0xff))).to.equal(
          full.debitAccount === `0x${"ff".repeat(32)}`,
        );
        expect(leafWord(bytes, 7)).to.equal(full.creditAccount);
        expect(leafWord(bytes, 12)).to.equal(full.metadataHash);
      }),
      { numRuns: 300 },
    );
  });
});

const acct = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
let seq = 0;
function ev(eventType: EventTypeName, f: Partial<LeafEntry>): LeafEntry {
  return {
    version: 1,
    eventType,
    sequence: seq++,
    timestamp: 1,
    salt: ZERO32,
    entryId: acct(1000 + seq),
    debitAccount: ZERO32,
    creditAccount: ZERO32,
    asset: "EUR",
    amount: 0n,
    code: 0,
    reference: ZERO32,
    metadataHash: ZERO32,
    ...f,
  };
}
const BANK = acct(1);
const ALICE = acct(2);
const BOB = acct(3);
const OWN = acct(4);
const ESCROW = acct(5);

function replayOf(entries: LeafEntry[]) {
  const findings = new FindingList();
  const r = new LedgerReplay(findings);
  entries.forEach((e, i) => r.apply(i, e));
  return { findings: findings.items, result: r.finish() };
}

function opened(): LeafEntry[] {
  seq = 0;
  return [
    ev("ACCOUNT_OPENED", { entryId: BANK, code: ACCOUNT_TYPES.bank_mirror }),
    ev("ACCOUNT_OPENED", { entryId: ALICE, code: ACCOUNT_TYPES.customer }),
    ev("ACCOUNT_OPENED", { entryId: BOB, code: ACCOUNT_TYPES.customer }),
    ev("ACCOUNT_OPENED", { entryId: OWN, code: ACCOUNT_TYPES.platform_own }),
    ev("ACCOUNT_OPENED", { entryId: ESCROW, code: ACCOUNT_TYPES.escrow }),
    ev("TRANSFER_POSTED", {
      debitAccount: BANK,
      creditAccount: ALICE,
      amount: 100n,
      code: TRANSFER_KINDS.deposit,
    }),
  ];
}
const transfer = (d: Hex, c: Hex, amount: bigint, kind: keyof typeof TRANSFER_KINDS) =>
  ev("TRANSFER_POSTED", { debitAccount: d, creditAccount: c, amount, code: TRANSFER_KINDS[kind] });

describe("audit: ledger replay", () => {
  it("a clean history has no finding, and balances add up per asset", () => {
    const { findings, result } = replayOf([...opened(), transfer(ALICE, BOB, 40n, "transfer")]);
    expect(findings).to.deep.equal([]);
    expect(result.totals[0]).to.include({ asset: "EUR", debitsPosted: 140n, creditsPosted: 140n });
    expect(result.segregation[0]).to.include({
      customerLiabilities: 100n,
      bankMirrorBalance: 100n,
      covered: true,
    });
  });

  it("a customer overdrawn is named at the event that overdraws it", () => {
    const { findings } = replayOf([...opened(), transfer(ALICE, BOB, 101n, "transfer")]);
    expect(findings).to.have.length(1);
    expect(findings[0]).to.include({ check: "negative_balance", index: 6, account: ALICE });
  });

  it("customer money moved to the platform's own account breaks segregation", () => {
    const { findings } = replayOf([...opened(), transfer(ALICE, OWN, 10n, "transfer")]);
    expect(findings.map((f) => [f.check, f.index])).to.deep.include(["segregation", 6]);
  });

  it("unknown accounts, other assets and double resolutions are named", () => {
    const e = opened();
    const hold = ev("HOLD_CREATED", {
      debitAccount: ALICE,
      creditAccount: BOB,
      amount: 5n,
      code: TRANSFER_KINDS.transfer,
    });
    const { findings } = replayOf([
      ...e,
      transfer(acct(99), BOB, 1n, "transfer"),
      { ...transfer(ALICE, BOB, 1n, "transfer"), asset: "USD" },
      hold,
      { ...hold, eventType: "HOLD_POSTED", sequence: 9 },
      { ...hold, eventType: "HOLD_VOIDED", sequence: 10 },
    ]);
    expect(findings.map((f) => [f.check, f.index])).to.deep.equal([
      ["unknown_account", 6],
      ["asset_mismatch", 7],
      ["asset_mismatch", 7],
      ["hold_lifecycle", 10],
    ]);
  });

  it("an escrow release without its posted escrow hold is named", () => {
    const { findings } = replayOf([...opened(), transfer(ESCROW, BOB, 1n, "escrow_release")]);
    expect(findings.map((f) => f.check)).to.include("hold_lifecycle");
  });
});

describe("audit: escrow holds against the chain", () => {
  const escrowId = acct(77);
  const hold = {
    pseudonym: acct(9),
    index: 3,
    debit: ALICE,
    credit: ESCROW,
    asset: "EUR",
    amount: 10n,
    kind: "escrow_hold" as const,
    escrowId,
    createdAt: 0,
    termsHash: ZERO32,
  };
  const onChain = (state: OnChainEscrow["state"]) =>
    new Map([
      [
        escrowId,
        {
          escrowId,
          payer: ALICE,
          payee: BOB,
          asset: `0x${"4555520000".padEnd(64, "0")}`,
          amount: 10n,
          state,
        } as OnChainEscrow,
      ],
    ]);

  it("posted ↔ Released, voided ↔ Refunded, pending ↔ Open", () => {
    for (const [status, state] of [
      ["posted", "Released"],
      ["voided", "Refunded"],
      ["pending", "Open"],
      ["pending", "Disputed"],
    ] as const) {
      const f = new FindingList();
      checkEscrows([{ ...hold, status, resolvedIndex: 5, payee: BOB }], onChain(state), f);
      expect(f.items, `${status}/${state}`).to.deep.equal([]);
    }
  });

  it("a hold posted in the ledger but refunded on chain is named at its posting", () => {
    const f = new FindingList();
    checkEscrows([{ ...hold, status: "posted", resolvedIndex: 5 }], onChain("Refunded"), f);
    expect(f.items[0]).to.include({ check: "escrow_state", index: 5, escrowId });
    const g = new FindingList();
    checkEscrows([{ ...hold, status: "pending" }], new Map(), g);
    expect(g.items[0].message).to.match(/no escrow on chain/);
  });
});
