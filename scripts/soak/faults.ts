import pg from "pg";
import type { Address } from "viem";
import { devAccount } from "../../src/chain/anvil";
import { createChainClients } from "../../src/chain/clients";
import { DEV_ROLES } from "../../src/chain/dev";
import { setAnchorPaused } from "../../src/chain/actions/set-anchor-paused";
import { sleep, type StackProcess } from "./stack-process";

export const FAULT_KINDS = ["kill-stack", "kill-node", "kill-chain", "pause-chain", "drop-pg"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_HELP: Record<FaultKind, string> = {
  "kill-stack": "kill -9 of the stack's process group (node and anvil), then a start",
  "kill-node": "kill -9 of the node process only (its anvil child survives), then a start that reclaims it",
  "kill-chain": "kill -9 of the anvil node only; the API keeps serving; then a clean restart of the stack",
  "pause-chain": "CustodyAnchor.pause() by the pauser for a few seconds, then unpause()",
  "drop-pg": "pg_terminate_backend on every session of the stack's database (PostgreSQL only)",
};

export interface FaultContext {
  stack: StackProcess;
  /** Marks the stack down (workers wait) or up. */
  setUp(up: boolean): void;
  anchor: Address;
  chainId: number;
  /** The database of a PostgreSQL run. */
  pgAdminUrl?: string;
  pgDatabase?: string;
  random: () => number;
}

/**
 * Injects one fault and returns once it is over (the stack restarted, the contract unpaused, the
 * sessions dropped); the caller then measures recovery from `since` (the kill for a crash, which a
 * supervisor answers with an immediate restart; the restart after a chain kill; the unpause; the
 * terminated sessions). `note` says what was observed on the way.
 */
export async function injectFault(
  kind: FaultKind,
  c: FaultContext,
): Promise<{ since: number; note?: string }> {
  const since = Date.now();
  switch (kind) {
    case "kill-stack": {
      c.setUp(false);
      await c.stack.killGroup();
      await c.stack.start();
      c.setUp(true);
      return { since };
    }
    case "kill-node": {
      const anvil = c.stack.anvilPid();
      c.setUp(false);
      await c.stack.killNode();
      const orphan = anvil !== undefined && alive(anvil);
      await c.stack.start();
      c.setUp(true);
      const reclaimed = orphan && !alive(anvil!);
      return {
        since,
        note: orphan
          ? reclaimed
            ? "orphaned anvil reclaimed"
            : "orphaned anvil still running"
          : "no orphan",
      };
    }
    case "kill-chain": {
      if (!c.stack.killAnvil()) return { since, note: "no anvil to kill" };
      // The API keeps serving the ledger while the chain is gone; a supervisor restarts the stack.
      await sleep(2000 + Math.floor(c.random() * 2000));
      const restart = Date.now();
      c.setUp(false);
      await c.stack.stop();
      await c.stack.start();
      c.setUp(true);
      return { since: restart };
    }
    case "pause-chain": {
      const { publicClient, walletClient } = createChainClients({
        rpcUrl: c.stack.rpcUrl,
        chainId: c.chainId,
        account: devAccount(DEV_ROLES.admin),
      });
      await setAnchorPaused({ publicClient, walletClient: walletClient!, anchor: c.anchor, paused: true });
      const ms = 3000 + Math.floor(c.random() * 5000);
      await sleep(ms);
      await setAnchorPaused({ publicClient, walletClient: walletClient!, anchor: c.anchor, paused: false });
      return { since: Date.now(), note: `paused ${ms} ms` };
    }
    case "drop-pg": {
      if (!c.pgAdminUrl || !c.pgDatabase) return { since, note: "not a PostgreSQL run" };
      const admin = new pg.Client({ connectionString: c.pgAdminUrl });
      await admin.connect();
      try {
        const r = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [c.pgDatabase],
        );
        return { since: Date.now(), note: `${r.rowCount} sessions terminated` };
      } finally {
        await admin.end();
      }
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
