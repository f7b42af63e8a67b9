// How a backfill shows its progress: a bar with rows, rate and ETA on a terminal, a plain line every few seconds in a log, nothing with --json.
//
// The bar is cli-progress (npm): the most used terminal progress bar for Node (about 25 million
// downloads a week), redraws one line in place, hides the cursor and restores it; its types are
// @types/cli-progress. Rate and ETA are computed here from the rows the database confirmed.
import { importOrExplain } from "./missing_dependency.ts";
import { formatCount } from "./text_table.ts";

export type ProgressMode = "bar" | "lines" | "none";

export interface ProgressDisplay {
  /** `done` rows written (or failed) so far, of `total` to do. */
  update(done: number, total: number): void;
  stop(): void;
}

/** A bar when stderr is a terminal, plain lines when it is not, none for --json. */
export function progressMode(json: boolean): ProgressMode {
  if (json) return "none";
  return Deno.stderr.isTerminal() ? "bar" : "lines";
}

/** 95 s as "1m 35s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "unknown";
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${rest}s`;
  return `${rest}s`;
}

class RateClock {
  readonly #started = performance.now();

  measure(done: number, total: number): { rate: number; etaSeconds: number } {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    return { rate, etaSeconds: rate > 0 ? Math.max(0, total - done) / rate : Infinity };
  }
}

/** "1,200 of 20,000 rows (6%), 94 rows/s, about 3m 20s left". */
function progressLine(
  done: number,
  total: number,
  rate: number,
  etaSeconds: number,
): string {
  const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
  return `${formatCount(done)} of ${formatCount(total)} rows (${percent}%), ${
    rate.toFixed(rate < 10 ? 1 : 0)
  } rows/s, ${done >= total ? "done" : `about ${formatDuration(etaSeconds)} left`}`;
}

function linesDisplay(label: string, everyMs: number): ProgressDisplay {
  const clock = new RateClock();
  let last = { done: 0, total: 0 };
  let lastPrinted = "";
  const print = () => {
    const { rate, etaSeconds } = clock.measure(last.done, last.total);
    const line = `${label}: ${progressLine(last.done, last.total, rate, etaSeconds)}`;
    if (line !== lastPrinted) console.error(line);
    lastPrinted = line;
  };
  const timer = setInterval(print, everyMs);
  return {
    update: (done, total) => last = { done, total },
    stop: () => {
      clearInterval(timer);
      print();
    },
  };
}

async function barDisplay(label: string): Promise<ProgressDisplay> {
  const { default: cliProgress } = await importOrExplain(
    () => import("cli-progress"),
    "The backfill's progress bar",
  );
  const clock = new RateClock();
  const bar = new cliProgress.SingleBar({
    format: `${label} {bar} {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {left}`,
    hideCursor: true,
    barsize: 30,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update: (done, total) => {
      const { rate, etaSeconds } = clock.measure(done, total);
      const payload = {
        rate: rate.toFixed(rate < 10 ? 1 : 0),
        left: done >= total ? "done" : formatDuration(etaSeconds),
      };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function progressDisplay(mode: ProgressMode, label: string): Promise<ProgressDisplay> {
  if (mode === "bar") return barDisplay(label);
  if (mode === "lines") return Promise.resolve(linesDisplay(label, 5_000));
  return Promise.resolve({ update: () => {}, stop: () => {} });
}
