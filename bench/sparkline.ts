/**
 * A one-line terminal chart of a series (`▁▂▂▃▅▆▇█`), so the shape of, say, memory over time is
 * seen at a glance: flat, a step, a ramp that keeps climbing. A series longer than `width` is
 * averaged into `width` buckets. The eight levels span the series' own min to max, so the
 * labels that go with it (min and max) say how much a step is worth.
 */
const LEVELS = "▁▂▃▄▅▆▇█";

export function sparkline(values: readonly number[], width = 60): string {
  const series = bucket(values, width);
  if (series.length === 0) return "";
  const min = Math.min(...series);
  const max = Math.max(...series);
  const span = max - min;
  return series
    .map((v) => LEVELS[span === 0 ? 0 : Math.round(((v - min) / span) * (LEVELS.length - 1))]!)
    .join("");
}

/** The series averaged down to at most `width` points, each a mean of consecutive values. */
function bucket(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let b = 0; b < width; b++) {
    const from = Math.floor((b * values.length) / width);
    const to = Math.floor(((b + 1) * values.length) / width);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    out.push(sum / (to - from));
  }
  return out;
}
