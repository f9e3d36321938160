import fs from "node:fs";
import { ConfigError } from "./config";

const DAY_MS = 86_400_000;

/**
 * The stack's clock. With `daySeconds` 0 it is the wall clock. Otherwise business time runs
 * 86 400 / daySeconds times faster than real time, starting at 00:00 UTC of the next day, so a
 * demo or a test sees whole business days (statements, reconciliations, snapshots) in seconds.
 * Its anchor is kept in `file`, so a restart continues the same simulated calendar and time never
 * runs backwards (a different speed after a restart continues from the time reached).
 */
export interface StackClock {
  now(): number;
  /** Real milliseconds per business day (86 400 000 for the wall clock). */
  readonly dayMs: number;
  /** Business milliseconds per real millisecond (1 for the wall clock). */
  readonly speed: number;
  readonly simulated: boolean;
  /** now = simOrigin + (Date.now() − realOrigin) × speed: the same clock on another thread. */
  readonly linear: { realOrigin: number; simOrigin: number; speed: number };
}

interface ClockAnchor {
  realOrigin: number;
  simOrigin: number;
  daySeconds: number;
}

export function stackClock(daySeconds: number, file: string, realNow: () => number = Date.now): StackClock {
  if (daySeconds === 0) {
    // Its ledger is ahead of the wall clock: times would run backwards.
    if (fs.existsSync(file))
      throw new ConfigError("this data folder runs simulated business days: start it with --day-seconds N", {
        details: `or use a fresh data folder for the wall clock (${file} holds the simulated calendar)`,
      });
    return {
      now: realNow,
      dayMs: DAY_MS,
      speed: 1,
      simulated: false,
      linear: { realOrigin: 0, simOrigin: 0, speed: 1 },
    };
  }
  const speed = 86_400 / daySeconds;
  let anchor: ClockAnchor | undefined;
  if (fs.existsSync(file)) anchor = JSON.parse(fs.readFileSync(file, "utf8")) as ClockAnchor;
  const real = realNow();
  if (!anchor) {
    anchor = { realOrigin: real, simOrigin: (Math.floor(real / DAY_MS) + 1) * DAY_MS, daySeconds };
  } else if (anchor.daySeconds !== daySeconds) {
    const reached = anchor.simOrigin + (real - anchor.realOrigin) * (86_400 / anchor.daySeconds);
    anchor = { realOrigin: real, simOrigin: Math.floor(reached), daySeconds };
  }
  fs.writeFileSync(file, JSON.stringify(anchor) + "\n", { mode: 0o600 });
  const a = anchor;
  return {
    now: () => Math.floor(a.simOrigin + (realNow() - a.realOrigin) * speed),
    dayMs: daySeconds * 1000,
    speed,
    simulated: true,
    linear: { realOrigin: a.realOrigin, simOrigin: a.simOrigin, speed },
  };
}

/** `YYYY-MM-DD` (UTC) of an instant. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The last instant of a UTC day: the default cut-off of its statement. */
export function endOfDay(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`) + DAY_MS - 1;
}
