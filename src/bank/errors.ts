import { CustodyError, InvalidArgumentError } from "../errors";

type Opts = { details?: string; cause?: unknown };

/**
 * Every failure of the bank module a caller acts on. A rejected statement stores nothing.
 * `where` names the place in the document (an element path such as
 * `BkToCstmrStmt/Stmt[0]/Ntry[3]/Amt`, or a JSON path) so the bank can fix its file.
 */
export class StatementRejectedError extends InvalidArgumentError {
  override name = "StatementRejectedError";
  override readonly code: string = "STATEMENT_REJECTED";
  readonly where: string;
  constructor(where: string, message: string, opts: Opts = {}) {
    super(`${where}: ${message}`, opts);
    this.where = where;
  }
}

/** Not well-formed XML/JSON, a missing or malformed element, an unknown code. */
export class MalformedStatementError extends StatementRejectedError {
  override name = "MalformedStatementError";
  override readonly code = "MALFORMED_STATEMENT";
}

/** The document is not camt.053.001.02, camt.053.001.08 or custody-bank-statement-v1. */
export class UnsupportedStatementFormatError extends StatementRejectedError {
  override name = "UnsupportedStatementFormatError";
  override readonly code = "UNSUPPORTED_STATEMENT_FORMAT";
}

/** An amount is not a decimal with at most the currency's ISO 4217 minor digits, or out of range. */
export class StatementAmountError extends StatementRejectedError {
  override name = "StatementAmountError";
  override readonly code = "STATEMENT_AMOUNT_INVALID";
}

/** A currency code with no ISO 4217 exponent known here. */
export class UnknownCurrencyError extends StatementRejectedError {
  override name = "UnknownCurrencyError";
  override readonly code = "UNKNOWN_CURRENCY";
}

/** An amount's currency differs from the statement's account currency, or from the ledger account's asset. */
export class StatementCurrencyMismatchError extends StatementRejectedError {
  override name = "StatementCurrencyMismatchError";
  override readonly code = "STATEMENT_CURRENCY_MISMATCH";
}

/** Opening balance + booked entries ≠ closing balance (or pages do not chain). */
export class StatementBalanceMismatchError extends StatementRejectedError {
  override name = "StatementBalanceMismatchError";
  override readonly code = "STATEMENT_BALANCE_MISMATCH";
}

/** The statement's account is not the bank account of any custodian-mirror ledger account. */
export class UnknownBankAccountError extends StatementRejectedError {
  override name = "UnknownBankAccountError";
  override readonly code = "UNKNOWN_BANK_ACCOUNT";
}

/** A statement id (and page) already stored with different content: a bank may not silently resend. */
export class StatementConflictError extends CustodyError {
  override name = "StatementConflictError";
  constructor(
    readonly statementKey: string,
    opts: Opts = {},
  ) {
    super(
      "STATEMENT_CONFLICT",
      `statement ${statementKey} was already received with different content`,
      opts,
    );
  }
}

export class UnknownStatementError extends CustodyError {
  override name = "UnknownStatementError";
  constructor(what: string) {
    super("UNKNOWN_STATEMENT", `no stored statement ${what}`);
  }
}

/** A reconciliation needs a complete statement (every page up to the last) for its day. */
export class StatementIncompleteError extends CustodyError {
  override name = "StatementIncompleteError";
  constructor(message: string, opts: Opts = {}) {
    super("STATEMENT_INCOMPLETE", message, opts);
  }
}

export class UnknownReconciliationError extends CustodyError {
  override name = "UnknownReconciliationError";
  constructor(what: string) {
    super("UNKNOWN_RECONCILIATION", `no reconciliation ${what}`);
  }
}

export class UnknownBreakError extends CustodyError {
  override name = "UnknownBreakError";
  constructor(readonly breakId: string) {
    super("UNKNOWN_BREAK", `unknown break ${JSON.stringify(breakId)}`);
  }
}

/** A break was already resolved (with another explanation) or is a timing break that clears itself. */
export class BreakNotResolvableError extends CustodyError {
  override name = "BreakNotResolvableError";
  constructor(
    readonly breakId: string,
    message: string,
  ) {
    super("BREAK_NOT_RESOLVABLE", `break ${JSON.stringify(breakId)} ${message}`);
  }
}

/** Bad reconciliation input: a date that is not YYYY-MM-DD, a negative tolerance... */
export class InvalidReconciliationInputError extends InvalidArgumentError {
  override name = "InvalidReconciliationInputError";
  override readonly code = "INVALID_RECONCILIATION_INPUT";
}
