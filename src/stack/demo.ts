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
 * would, so the first minute shows transfers, fees, anchors and both ends of an escrow's life.
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

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.apiUrl}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.apiKeys.platform}`, "content-type": "application/json" },
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
    for (const c of CUSTOMERS) {
      await call("POST", "/transfers", {
        id: `demo-${run}-deposit-${c}`,
        debitAccountId: "bank-eur",
        creditAccountId: c,
        amount: "500000",
        kind: "deposit",
      });
    }
    say(`opened ${accounts.length} accounts and deposited 5,000.00 EUR for each of ${CUSTOMERS.join(", ")}`);
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
    say(`transfer ${from} → ${to} ${fmt(amount)} EUR (entry ${t.sequence})`);
    if (n % 5 === 0) {
      await call("POST", "/transfers", {
        id: `demo-${run}-fee${n}`,
        debitAccountId: from,
        creditAccountId: "fees-eur",
        amount: String(Math.floor(Number(amount) / 100)),
        kind: "fee",
        fee: { code: "standard", base: amount },
      });
      say(`fee from ${from}: ${fmt(String(Math.floor(Number(amount) / 100)))} EUR (1 % of ${fmt(amount)})`);
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
    await send(approverPayer, "refund", refunded.escrowId as Hex);
    say(`escrow ${refunded.id}: expired → refunded on chain; the relayer voids the hold`);
  }

  const loop = (async () => {
    try {
      await setup();
      let escrows = 0;
      while (!stopped) {
        await tick();
        if (n % 40 === 1)
          void escrowLifecycle(++escrows).catch((e) => say(`escrow step failed: ${String(e)}`));
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
      await loop;
    },
  };
}

function fmt(minor: string): string {
  const s = minor.padStart(3, "0");
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
