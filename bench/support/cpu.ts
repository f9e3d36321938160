import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process from /proc/<pid>/stat (Linux), in ms, and its command name; undefined when it is gone. */
function procCpu(pid: number | string): { name: string; ms: number } | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const name = f.slice(f.indexOf("(") + 1, f.lastIndexOf(")"));
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return { name, ms: ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** CPU time (user + system) a process has used, in ms; undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  return procCpu(pid)?.ms;
}

/**
 * CPU time of every process named `postgres` on this machine (Linux), in ms: the backends of every
 * client and the server's own background processes (checkpointer, WAL writer, background writer),
 * whose work a write load causes too. Processes that exit between two readings take their time
 * with them: compare readings around work that keeps its connections. 0 where /proc is missing.
 */
export function postgresCpuMs(): number {
  let dirs: string[];
  try {
    dirs = readdirSync("/proc");
  } catch {
    return 0;
  }
  let sum = 0;
  for (const d of dirs) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue;
    const p = procCpu(d);
    if (p?.name === "postgres") sum += p.ms;
  }
  return sum;
}
