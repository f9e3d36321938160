/**
 * Named steps at which tests inject crashes. Production code calls `hook(step)` and nothing
 * happens unless a hook is configured; a test hook may throw or `process.exit` to simulate a crash.
 */
export type FaultStep =
  /** Anchor transaction signed and recorded as pending, not yet broadcast. */
  | "anchor:beforeSend"
  /** Anchor transaction broadcast; receipt not yet seen. */
  | "anchor:afterSend"
  /** Receipt seen; anchor not yet recorded in the database. */
  | "anchor:afterReceipt"
  /** Escrow creation broadcast; receipt not yet seen. */
  | "escrow:afterSend"
  /** Escrow event read from the chain; not yet applied to the ledger. */
  | "escrow:beforeApply"
  /** Escrow event applied to the ledger; cursor not yet advanced. */
  | "escrow:afterApply";

export type FaultHook = (step: FaultStep) => void | Promise<void>;
