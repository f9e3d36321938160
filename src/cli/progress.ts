import { SingleBar } from "cli-progress";
import type { AuditProgress } from "../audit";

export interface ProgressWriter {
  update(p: AuditProgress): void;
  done(): void;
}

/**
 * The audit's progress bar (cli-progress), one bar per phase on `stream`, e.g.
 * `events  [██████████░░░░░░░░░░]  50%  500000/1000000  ETA 3s`.
 * `force` draws even when the stream is not a terminal (`--progress`).
 */
export function auditProgressBar(stream: NodeJS.WritableStream, force = false): ProgressWriter {
  const started = Date.now();
  let bar: SingleBar | undefined;
  let phase = "";
  const stop = () => bar?.stop();
  return {
    update(p) {
      if (p.phase !== phase || !bar) {
        stop();
        phase = p.phase;
        bar = new SingleBar({
          stream,
          noTTYOutput: force,
          notTTYSchedule: 1000,
          format: "{phase} [{bar}] {percentage}%  {value}/{total}  ETA {eta}s",
          barsize: 24,
          hideCursor: false,
          clearOnComplete: false,
        });
        bar.start(p.total, p.done, { phase: p.phase.padEnd(7) });
      } else {
        bar.setTotal(p.total);
        bar.update(p.done);
      }
    },
    done() {
      stop();
      if (bar) stream.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
