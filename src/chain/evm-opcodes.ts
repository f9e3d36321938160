import { hexToBytes, type Hex } from "viem";
import { InvalidArgumentError } from "../errors";

/**
 * The EVM fork the contracts are compiled for (`hardhat.config.ts` reads it from here). A chain
 * running them must have this fork or a later one active from genesis.
 */
export const CONTRACTS_EVM_VERSION = "cancun" satisfies EvmFork;

/** Forks that added opcodes (or matter to a genesis), oldest first; solc's `evmVersion` names. */
export const EVM_FORKS = [
  "frontier",
  "homestead",
  "byzantium",
  "constantinople",
  "istanbul",
  "berlin",
  "london",
  "paris",
  "shanghai",
  "cancun",
  "prague",
] as const;
export type EvmFork = (typeof EVM_FORKS)[number];

/** Opcodes added after frontier, by the fork that introduced them (EIPs 7, 140, 211, 214, 145, 1014, 1052, 1344, 1884, 3198, 3855, 1153, 5656, 4844, 7516). */
const ADDED: Record<number, { name: string; fork: EvmFork }> = {
  0xf4: { name: "DELEGATECALL", fork: "homestead" },
  0x3d: { name: "RETURNDATASIZE", fork: "byzantium" },
  0x3e: { name: "RETURNDATACOPY", fork: "byzantium" },
  0xfa: { name: "STATICCALL", fork: "byzantium" },
  0xfd: { name: "REVERT", fork: "byzantium" },
  0x1b: { name: "SHL", fork: "constantinople" },
  0x1c: { name: "SHR", fork: "constantinople" },
  0x1d: { name: "SAR", fork: "constantinople" },
  0x3f: { name: "EXTCODEHASH", fork: "constantinople" },
  0xf5: { name: "CREATE2", fork: "constantinople" },
  0x46: { name: "CHAINID", fork: "istanbul" },
  0x47: { name: "SELFBALANCE", fork: "istanbul" },
  0x48: { name: "BASEFEE", fork: "london" },
  0x5f: { name: "PUSH0", fork: "shanghai" },
  0x5c: { name: "TLOAD", fork: "cancun" },
  0x5d: { name: "TSTORE", fork: "cancun" },
  0x5e: { name: "MCOPY", fork: "cancun" },
  0x49: { name: "BLOBHASH", fork: "cancun" },
  0x4a: { name: "BLOBBASEFEE", fork: "cancun" },
};

/** Frontier's opcodes that are not PUSH1..PUSH32 (those are 0x60..0x7f). */
const FRONTIER = new Set<number>([
  ...range(0x00, 0x0b),
  ...range(0x10, 0x1a),
  0x20,
  ...range(0x30, 0x3c),
  ...range(0x40, 0x45),
  ...range(0x50, 0x5b),
  ...range(0x80, 0xa4),
  0xf0,
  0xf1,
  0xf2,
  0xf3,
  0xfe,
  0xff,
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** An opcode the fork does not define: newer than the fork, or not an opcode of any fork. */
export interface ForeignOpcode {
  /** Byte offset in the scanned code. */
  offset: number;
  opcode: number;
  name: string;
  /** The fork that introduced it, or `undefined` for a byte no fork defines. */
  introducedIn: EvmFork | undefined;
}

/**
 * Length of solc's CBOR metadata trailer (including its 2-byte length), or 0 when the code does
 * not end with one: the last two bytes give the CBOR length, and the CBOR is a map (0xa0..0xb7).
 */
export function metadataLength(code: Uint8Array): number {
  if (code.length < 2) return 0;
  const cborLength = (code[code.length - 2]! << 8) | code[code.length - 1]!;
  const start = code.length - 2 - cborLength;
  if (cborLength === 0 || start < 0) return 0;
  const first = code[start]!;
  return first >= 0xa0 && first <= 0xb7 ? cborLength + 2 : 0;
}

/**
 * Walks `bytecode` instruction by instruction (skipping PUSH data and the metadata trailer) and
 * returns every opcode `fork` does not define, in code order. Creation code works as well as
 * runtime code: solc's init code holds no data, so the walk stays aligned into the runtime part.
 *
 * @example
 * scanOpcodesNewerThan("0x5f5ff3", "london"); // [{ offset: 0, name: "PUSH0", introducedIn: "shanghai" }, …]
 */
export function scanOpcodesNewerThan(bytecode: Hex | Uint8Array, fork: EvmFork): ForeignOpcode[] {
  const forkIndex = EVM_FORKS.indexOf(fork);
  if (forkIndex < 0)
    throw new InvalidArgumentError(`unknown EVM fork ${JSON.stringify(fork)}`, {
      details: `expected one of ${EVM_FORKS.join(", ")}`,
    });
  const code = typeof bytecode === "string" ? hexToBytes(bytecode) : bytecode;
  const end = code.length - metadataLength(code);
  const found: ForeignOpcode[] = [];
  for (let pc = 0; pc < end; pc++) {
    const op = code[pc]!;
    if (op >= 0x60 && op <= 0x7f) {
      pc += op - 0x5f; // PUSH1..PUSH32 carry 1..32 bytes of data
      continue;
    }
    if (FRONTIER.has(op)) continue;
    const added = ADDED[op];
    if (added && EVM_FORKS.indexOf(added.fork) <= forkIndex) continue;
    found.push({
      offset: pc,
      opcode: op,
      name: added?.name ?? `0x${op.toString(16).padStart(2, "0")}`,
      introducedIn: added?.fork,
    });
  }
  return found;
}
