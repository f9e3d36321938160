import { randomBytes } from "node:crypto";
import { toHex, type Address, type Hex } from "viem";
import { devAccount } from "../chain/anvil";
import { createChainClients } from "../chain/clients";
import { CustodyError } from "../errors";
import { decideEscrow } from "../chain/actions/decide-escrow";
import { readEscrow } from "../chain/actions/read-escrow";
import { DEV_ROLES, type RunningStack } from "./stack";

/** The demo's own API call was refused (the demo stops; the stack keeps running). */
export class DemoRequestError extends CustodyError {
  override name = "DemoRequestError";
  constructor(message: string) {
    super("DEMO_REQUEST_FAILED", message);
  }
}

/**
 * The demo workload of `npm run demo`: it drives the running stack through its public API (with the
 * platform key) and the chain (with the development approvers' keys), as a platform and its users
 * would, so the first minute shows transfers, fees, anchors and both ends of an escrow's life. With
 * simulated business days (`--day-seconds`), the first minutes also show the simulated custodian
 * bank's statements, a reconciliation break (a deposit the bank lost) explained by an operator,
 * the daily liabilities snapshot and the bank's reserves attestation on chain, and a large-value
 * alert raised by the rules engine and reviewed by an operator and a checker.
 */
export interface Demo {
  stop(): Promise<void>;
}

const CUSTOMERS = ["alice", "bob", "carol", "dave"];

export function startDemo(
  stack: RunningStack,
  opts: { tickMs?: number; say?: (line: string) => void } = {},
): Demo {
  const say = opts.say ?? ((line: string) => process.stdout.write(`demo: ${line}\n`));
  const tickMs = opts.tickMs ?? 700;
  const run = randomBytes(3).toString("hex");
  let stopped = false;
  let n = 0;

  const call = async (method: string, path: string, body?: unknown, key = stack.apiKeys.platform) => {
    const res = await fetch(`${stack.apiUrl}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, any>;
    if (res.status >= 300)
      throw new DemoRequestError(
        `${method} ${path}: ${res.status} ${json?.error?.code ?? ""} ${json?.error?.message ?? ""}`,
      );
    return json;
  };

  const { publicClient } = createChainClients({ rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  const approverPayer = devAccount(DEV_ROLES.approverPayer);
  const approverPayee = devAccount(DEV_ROLES.approverPayee);
  const escrowAddress = stack.deployment.custodyEscrow as Address;
  const send = async (who: typeof approverPayer, functionName: "approve" | "refund", escrowId: Hex) => {
    const { walletClient } = createChainClients({
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
      account: who,
    });
    return decideEscrow({
      publicClient,
      walletClient: walletClient!,
      escrow: escrowAddress,
      escrowId,
      decision: functionName,
    });
  };
  const onChain = async (escrowId: Hex) => {
    for (let i = 0; i < 60 && !stopped; i++) {
      try {
        await readEscrow(publicClient, escrowAddress, escrowId);
        return true;
      } catch {
        await sleep(500);
      }
    }
    return false;
  };

  async function setup() {
    const accounts: [string, string][] = [
      ["bank-eur", "bank_mirror"],
      ["escrow-eur", "escrow"],
      ["fees-eur", "fee_revenue"],
      ["platform-eur", "platform_own"],
      ["settlement-eur", "settlement"],
      ...CUSTOMERS.map((c) => [c, "customer"] as [string, string]),
    ];
    for (const [id, type] of accounts) await call("POST", "/accounts", { id, type, asset: "EUR", scale: 2 });
    // The platform's own money at the bank: kept apart from customers', never netted against them.
    await call("POST", "/transfers", {
      id: `demo-${run}-own-funds`,
      debitAccountId: "bank-eur",
      creditAccountId: "platform-eur",
      amount: "10000000",
      kind: "deposit",
    });
    for (const c of CUSTOMERS) {
      await call("POST", "/transfers", {
        id: `demo-${run}-deposit-${c}`,
        debitAccountId: "bank-eur",
        creditAccountId: c,
        amount: "500000",
        kind: "deposit",
      });
    }
    say(
      `opened ${accounts.length} accounts, deposited 100,000.00 EUR of the platform's own funds and 5,000.00 EUR for each of ${CUSTOMERS.join(", ")}`,
    );
    await call("POST", "/transfers", {
      id: `demo-${run}-large-deposit-dave`,
      debitAccountId: "bank-eur",
      creditAccountId: "dave",
      amount: "8000000",
      kind: "deposit",
    });
    say("dave deposits 80,000.00 EUR (about 624,000 CNY: above the PBOC large-value line of 500,000 CNY)");
  }

  // What the daily cycle does, in plain words; an open break is explained by the operator.
  stack.onCycleEvent = (e) => {
    const d = e.detail as Record<string, any>;
    if (e.kind === "statement-sent") {
      say(
        `bank: statement of ${e.day} for ${d.bankAccount} sent to the inbox: ${d.entries} entries, closing balance ${money(d.closing)} ${d.currency}` +
          (d.missing
            ? ` (the simulated bank deliberately lost the deposit ${d.missing.transferId} of ${money(d.missing.amount)})`
            : ""),
      );
    } else if (e.kind === "reconciled") {
      const r = d.report;
      const open = (r.breaks as any[]).filter((b) => b.class !== "timing");
      say(
        `reconciliation of ${e.day} (${d.ledgerAccount}): bank ${money(r.balances.bank)}, books ${money(r.balances.ledger)}; ` +
          `${open.length === 0 ? "no breaks" : `${open.length} break(s): ${open.map((b: any) => `${b.class} ${b.ledger?.transferId ?? b.bank?.endToEndId ?? ""}`).join(", ")}`}` +
          `; report ${String(d.reportHash).slice(0, 18)}… logged`,
      );
      if (open.length > 0)
        void explainBreaks().catch((err) => say(`could not explain a break: ${String(err)}`));
    } else if (e.kind === "attested") {
      say(
        `bank: attested reserves of ${money(d.reserves)} ${d.asset} for ${e.day} on chain (with the statement's SHA-256)`,
      );
    } else if (e.kind === "snapshot") {
      say(
        `solvency: liabilities snapshot ${d.asset} ${e.day} committed on chain: customers are owed ${money(d.rootSum)} ${d.asset} at log size ${d.logSize}`,
      );
    }
  };

  async function explainBreaks() {
    await sleep(3000); // a person takes a moment to look
    const { breaks } = await call(
      "GET",
      "/reconciliation/breaks?status=open",
      undefined,
      stack.apiKeys.auditor,
    );
    for (const b of breaks as any[]) {
      await call(
        "POST",
        `/reconciliation/breaks/${encodeURIComponent(b.id)}/resolve`,
        {
          explanation: `Deposit ${b.detail?.ledger?.transferId ?? "?"} was received by the bank on a suspense account; the bank confirmed it by phone and will book it to the custody account.`,
        },
        stack.apiKeys.operator,
      );
      say(
        `operator: explained break ${b.id} (${b.class}); the explanation is now in the log and /v1/ready is green again`,
      );
    }
  }

  const reviewed = new Set<string>();
  async function reviewAlerts() {
    const { alerts } = await call("GET", "/alerts?state=open", undefined, stack.apiKeys.operator);
    for (const a of alerts as any[]) {
      if (reviewed.has(a.id)) continue;
      reviewed.add(a.id);
      say(
        `risk: alert ${a.ruleId} (${a.severity}${a.outcome === "cannot_evaluate" ? ", could not evaluate" : ""}) on ${a.subject}, raised by the rules engine`,
      );
      await call("POST", `/alerts/${a.id}/transition`, { to: "under_review" }, stack.apiKeys.operator);
      say(`operator: took alert ${a.id} into review`);
      // A large value with a documented source is dismissed; anything else is confirmed as real.
      const [to, reason] = a.ruleId.startsWith("pboc.lv")
        ? ["dismissed", "source of funds documented (sale of a flat); filed in the large-value report"]
        : ["confirmed", "real: handled where it arose (see the reconciliation break's explanation)"];
      await call("POST", `/alerts/${a.id}/transition`, { to, reason }, stack.apiKeys.checker);
      say(`checker: ${to} alert ${a.id}: ${reason}`);
    }
  }

  async function tick() {
    n++;
    const from = CUSTOMERS[n % CUSTOMERS.length];
    const to = CUSTOMERS[(n + 1 + (n % 3)) % CUSTOMERS.length];
    const amount = String(100 + ((n * 7919) % 5000));
    const t = await call("POST", "/transfers", {
      id: `demo-${run}-t${n}`,
      debitAccountId: from,
      creditAccountId: to,
      amount,
      kind: "transfer",
    });
    say(`transfer ${from} → ${to} ${money(amount)} EUR (entry ${t.sequence})`);
    if (n % 5 === 0) {
      await call("POST", "/transfers", {
        id: `demo-${run}-fee${n}`,
        debitAccountId: from,
        creditAccountId: "fees-eur",
        amount: String(Math.floor(Number(amount) / 100)),
        kind: "fee",
        fee: { code: "standard", base: amount },
      });
      say(
        `fee from ${from}: ${money(String(Math.floor(Number(amount) / 100)))} EUR (1 % of ${money(amount)})`,
      );
    }
  }

  async function escrowLifecycle(k: number) {
    const now = Math.floor(Date.now() / 1000);
    const released = await call("POST", "/escrows", {
      id: `demo-${run}-escrow-${k}`,
      payer: "alice",
      payee: "bob",
      asset: "EUR",
      amount: "25000",
      approvers: [approverPayer.address, approverPayee.address],
      payerSideMask: 1,
      threshold: 2,
      expiresAt: now + 3600,
      agreementHash: toHex(randomBytes(32)),
    });
    say(`escrow ${released.id}: alice → bob 250.00 EUR held; waiting for the relayer to create it on chain`);
    const refunded = await call("POST", "/escrows", {
      id: `demo-${run}-escrow-${k}-r`,
      payer: "carol",
      payee: "dave",
      asset: "EUR",
      amount: "10000",
      approvers: [approverPayer.address],
      threshold: 1,
      expiresAt: now + 8,
      agreementHash: toHex(randomBytes(32)),
    });
    say(`escrow ${refunded.id}: carol → dave 100.00 EUR held, expires in 8 s without approval`);
    if (!(await onChain(released.escrowId as Hex))) return;
    await send(approverPayer, "approve", released.escrowId as Hex);
    await send(approverPayee, "approve", released.escrowId as Hex);
    say(`escrow ${released.id}: both approvers signed on chain → released; the relayer posts the hold`);
    if (!(await onChain(refunded.escrowId as Hex))) return;
    while (!stopped && Math.floor(Date.now() / 1000) <= now + 9) await sleep(500);
    if (stopped) return;
    // The relayer's escrow bridge refunds a due escrow itself; send the refund only if it has not yet.
    const state = (await readEscrow(publicClient, escrowAddress, refunded.escrowId as Hex)).state;
    if (state === "Open")
      await send(approverPayer, "refund", refunded.escrowId as Hex).catch(async (e) => {
        // Lost the race to the relayer: fine if the escrow ended refunded.
        const now = (await readEscrow(publicClient, escrowAddress, refunded.escrowId as Hex)).state;
        if (now !== "Refunded") throw e;
      });
    say(
      `escrow ${refunded.id}: expired → refunded on chain${state === "Open" ? "" : " by the relayer"}; the relayer voids the hold`,
    );
  }

  const loop = (async () => {
    try {
      await setup();
      let escrows = 0;
      while (!stopped) {
        await tick();
        if (n % 40 === 1)
          void escrowLifecycle(++escrows).catch((e) => say(`escrow step failed: ${String(e)}`));
        if (n % 5 === 0) await reviewAlerts().catch((e) => say(`alert review failed: ${String(e)}`));
        if (n % 10 === 0) {
          const head = await call("GET", "/log/head");
          say(
            `log size ${head.treeSize}; latest anchor: ${head.latestAnchor ? `head ${head.latestAnchor.headIndex} at size ${head.latestAnchor.treeSize}` : "none yet"}`,
          );
        }
        await sleep(tickMs);
      }
    } catch (e) {
      if (!stopped) say(`stopped after an error: ${String(e)}`);
    }
  })();

  return {
    async stop() {
      stopped = true;
      stack.onCycleEvent = undefined;
      await loop;
    },
  };
}

/** Minor units (bigint, string or number) at scale 2 → `1,234.56`. */
function money(minor: unknown): string {
  const v = BigInt(String(minor));
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(3, "0");
  return `${neg ? "-" : ""}${s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${s.slice(-2)}`;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
