import { Counter, Gauge, type Registry } from "prom-client";

/** The relayer's Prometheus metrics, registered into the registry the caller passes. */
export interface RelayerMetrics {
  leader: Gauge;
  lagEntries: Gauge;
  lagSeconds: Gauge;
  lastAnchoredTreeSize: Gauge;
  lastAnchoredHeadIndex: Gauge;
  anchors: Counter;
  failures: Counter<"step">;
  gasUsed: Counter<"kind">;
  gasCostWei: Counter<"kind">;
  alarm: Gauge<"kind">;
  escrowsCreated: Counter;
  escrowEventsApplied: Counter<"kind">;
  escrowAlarms: Gauge<"kind">;
}

export function createRelayerMetrics(registry: Registry, prefix = "custody_relayer_"): RelayerMetrics {
  const registers = [registry];
  return {
    leader: new Gauge({
      name: `${prefix}leader`,
      help: "1 while this instance holds the leader lease",
      registers,
    }),
    lagEntries: new Gauge({
      name: `${prefix}lag_entries`,
      help: "Log entries not yet covered by a final anchor",
      registers,
    }),
    lagSeconds: new Gauge({
      name: `${prefix}lag_seconds`,
      help: "Age of the oldest log entry not yet covered by a final anchor (0 when none)",
      registers,
    }),
    lastAnchoredTreeSize: new Gauge({
      name: `${prefix}last_anchored_tree_size`,
      help: "Tree size of the latest final anchored head",
      registers,
    }),
    lastAnchoredHeadIndex: new Gauge({
      name: `${prefix}last_anchored_head_index`,
      help: "Index of the latest final anchored head",
      registers,
    }),
    anchors: new Counter({
      name: `${prefix}anchors_total`,
      help: "Heads anchored by this instance",
      registers,
    }),
    failures: new Counter({
      name: `${prefix}failures_total`,
      help: "Failed relayer steps, by step",
      labelNames: ["step"],
      registers,
    }),
    gasUsed: new Counter({
      name: `${prefix}gas_used_total`,
      help: "Gas used by the relayer's mined transactions, by kind",
      labelNames: ["kind"],
      registers,
    }),
    gasCostWei: new Counter({
      name: `${prefix}gas_cost_wei_total`,
      help: "Fees paid (gasUsed x effectiveGasPrice, wei), by kind",
      labelNames: ["kind"],
      registers,
    }),
    alarm: new Gauge({
      name: `${prefix}alarm`,
      help: "1 while anchoring is stopped by an alarm, by kind",
      labelNames: ["kind"],
      registers,
    }),
    escrowsCreated: new Counter({
      name: `${prefix}escrows_created_total`,
      help: "Escrows created on chain by this instance",
      registers,
    }),
    escrowEventsApplied: new Counter({
      name: `${prefix}escrow_events_applied_total`,
      help: "Chain escrow decisions applied to the ledger, by kind",
      labelNames: ["kind"],
      registers,
    }),
    escrowAlarms: new Gauge({
      name: `${prefix}escrow_alarms`,
      help: "Escrow disagreements between chain and ledger (decided otherwise, terms mismatch, decision lost), by kind",
      labelNames: ["kind"],
      registers,
    }),
  };
}
