/**
 * A one-line progress bar on stderr for a long benchmark phase: `filling ████░░░░ 41% 410,000/
 * 1,000,000 rows  23,512 rows/s  eta 25s`. Redrawn in place at most ten times a second on a
 * terminal; where stderr is a file or a pipe (CI logs), one plain line per tenth instead, so the
 * log holds progress without a carriage-return smear. stdout, where the table goes, is untouched.
 */
export interface Progress {
  /** `done` units so far (absolute, not an increment). */
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

const WIDTH = 24;
const REDRAW_MS = 100;

/** `from`: where this phase starts counting (a fill resumed after a checkpoint); the rate
 * counts only this phase's units. */
export function progressBar(label: string, total: number, unit: string, from = 0): Progress {
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  let lastDraw = -Infinity;
  let lastTenth = -1;
  let current = from;

  const render = (): string => {
    const fraction = total > 0 ? Math.min(1, current / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const seconds = (performance.now() - t0) / 1000;
    const rate = seconds > 0 ? (current - from) / seconds : 0;
    const eta = rate > 0 ? Math.max(0, (total - current) / rate) : NaN;
    return (
      `${label} ${"█".repeat(filled)}${"░".repeat(WIDTH - filled)} ` +
      `${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${current.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${unit}  ` +
      `${Math.round(rate).toLocaleString("en-US")} ${unit}/s` +
      (Number.isNaN(eta) ? "" : `  eta ${eta.toFixed(0)}s`)
    );
  };

  return {
    update(done) {
      current = done;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        process.stderr.write(`\r\x1b[2K${render()}`);
        return;
      }
      const tenth = total > 0 ? Math.floor((current / total) * 10) : 10;
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${render()}\n`);
      }
    },
    finish() {
      if (tty) process.stderr.write(`\r\x1b[2K${render()}\n`);
      else if (lastTenth < 10) process.stderr.write(`${render()}\n`);
    },
  };
}

/**
 * A status line between progress bars (`measuring at 100,000 rows: status=error`): replaced
 * in place on a terminal, one line each in a log. `""` clears it.
 */
export function progressNote(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else if (text !== "") process.stderr.write(`${text}\n`);
}
