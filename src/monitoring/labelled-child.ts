import type { Counter, Gauge, Histogram } from "prom-client";

/**
 * Labelled children for the metrics a gateway request updates several times over.
 *
 * prom-client's own `labels(...)` children save nothing: every `inc`/`observe` still
 * validates the labels and rebuilds the series key string from them. These children build
 * the key once and then update the series in the metric's `hashMap` in place, with the same
 * arithmetic prom-client does (so `/metrics` renders the same bytes). The series is looked
 * up on every update, never held: `reset()` replaces the map and `remove()` deletes from it,
 * and either way the lookup misses and the update goes through the metric's public method,
 * which creates the series anew. A value prom-client would reject also takes that path,
 * so it throws the same error.
 *
 * `hashMap`, `sortedLabelNames` and `upperBounds` are prom-client 15 internals;
 * metrics.test.ts compares the rendered output against plain prom-client calls, so an
 * upgrade that changes them fails there.
 */

/** Every label of the metric, given once. */
type Labels<T extends string> = Readonly<Record<T, string>>;

interface Series {
  value: number;
}

interface HistogramSeries {
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}

interface Internals<S> {
  hashMap: Record<string, S | undefined>;
  sortedLabelNames: readonly string[];
}

interface HistogramInternals extends Internals<HistogramSeries> {
  upperBounds: readonly number[];
}

/** The key prom-client files a label set under (its `hashObject`). */
function seriesKey(internals: Internals<unknown>, labels: Readonly<Record<string, string>>) {
  let key = "";
  for (const name of internals.sortedLabelNames) {
    const value = labels[name];
    if (value !== undefined) key += `${name}:${value},`;
  }
  return key;
}

/** prom-client's typings do not declare the fields its methods use; see the note above. */
function internalsOf<I>(metric: object): I {
  return metric as unknown as I;
}

/**
 * One labelled series of a metric: its labels, and the key prom-client files them under. The
 * series itself is looked up at every update (`stored`), never kept: see the note above.
 */
abstract class SeriesChild<M extends object, S, T extends string> {
  protected readonly metric: M;
  protected readonly labels: Labels<T>;
  readonly #internals: Internals<S>;
  readonly #key: string;

  constructor(metric: M, labels: Labels<T>) {
    this.metric = metric;
    this.labels = labels;
    this.#internals = internalsOf(metric);
    this.#key = seriesKey(this.#internals, labels);
  }

  /** The series as prom-client holds it now; undefined after a reset or a removal. */
  protected stored(): S | undefined {
    return this.#internals.hashMap[this.#key];
  }
}

export class CounterChild<T extends string> extends SeriesChild<Counter<T>, Series, T> {
  inc(value = 1): void {
    const series = this.stored();
    // prom-client throws on a negative or infinite value (and oddly accepts NaN): its path.
    if (series !== undefined && value >= 0 && value < Infinity) series.value += value;
    else this.metric.inc(this.labels, value);
  }
}

export class GaugeChild<T extends string> extends SeriesChild<Gauge<T>, Series, T> {
  inc(value = 1): void {
    const series = this.stored();
    if (series !== undefined) series.value += value;
    else this.metric.inc(this.labels, value);
  }

  dec(value = 1): void {
    const series = this.stored();
    if (series !== undefined) series.value += -value;
    else this.metric.dec(this.labels, value);
  }
}

export class HistogramChild<T extends string> extends SeriesChild<
  Histogram<T>,
  HistogramSeries,
  T
> {
  // A plain copy of the (frozen) bounds and their names as bucket keys: indexing the buckets
  // by number would turn it into a string on every observation.
  readonly #bounds: readonly number[];
  readonly #bucketKeys: readonly string[];

  constructor(histogram: Histogram<T>, labels: Labels<T>) {
    super(histogram, labels);
    this.#bounds = [...internalsOf<HistogramInternals>(histogram).upperBounds];
    this.#bucketKeys = this.#bounds.map(String);
  }

  observe(value: number): void {
    const series = this.stored();
    if (series === undefined || !Number.isFinite(value)) {
      this.metric.observe(this.labels, value);
      return;
    }
    series.sum += value;
    series.count += 1;
    // The first bound at or above the value; above the last one only +Inf (the count) has it.
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        series.bucketValues[this.#bucketKeys[i]!]! += 1;
        return;
      }
    }
  }
}

/**
 * Children by key, made on first use. Label values come from the config, so this stays
 * small; the limit only guards against a caller passing request input by mistake. Dropping
 * a child loses nothing: it holds no counts, only the way to its series.
 */
export class ChildCache<K, C> {
  readonly #children = new Map<K, C>();
  readonly #make: (key: K) => C;
  readonly #limit: number;

  constructor(make: (key: K) => C, limit = 1024) {
    this.#make = make;
    this.#limit = limit;
  }

  get(key: K): C {
    let child = this.#children.get(key);
    if (child === undefined) {
      if (this.#children.size >= this.#limit) this.#children.clear();
      child = this.#make(key);
      this.#children.set(key, child);
    }
    return child;
  }
}
