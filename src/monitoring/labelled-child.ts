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

export class CounterChild<T extends string> {
  readonly #counter: Counter<T>;
  readonly #internals: Internals<Series>;
  readonly #labels: Labels<T>;
  readonly #key: string;

  constructor(counter: Counter<T>, labels: Labels<T>) {
    this.#counter = counter;
    this.#internals = internalsOf(counter);
    this.#labels = labels;
    this.#key = seriesKey(this.#internals, labels);
  }

  inc(value = 1): void {
    const series = this.#internals.hashMap[this.#key];
    // prom-client throws on a negative or infinite value (and oddly accepts NaN): its path.
    if (series !== undefined && value >= 0 && value < Infinity) series.value += value;
    else this.#counter.inc(this.#labels, value);
  }
}

export class GaugeChild<T extends string> {
  readonly #gauge: Gauge<T>;
  readonly #internals: Internals<Series>;
  readonly #labels: Labels<T>;
  readonly #key: string;

  constructor(gauge: Gauge<T>, labels: Labels<T>) {
    this.#gauge = gauge;
    this.#internals = internalsOf(gauge);
    this.#labels = labels;
    this.#key = seriesKey(this.#internals, labels);
  }

  inc(value = 1): void {
    const series = this.#internals.hashMap[this.#key];
    if (series !== undefined) series.value += value;
    else this.#gauge.inc(this.#labels, value);
  }

  dec(value = 1): void {
    const series = this.#internals.hashMap[this.#key];
    if (series !== undefined) series.value += -value;
    else this.#gauge.dec(this.#labels, value);
  }
}

export class HistogramChild<T extends string> {
  readonly #histogram: Histogram<T>;
  readonly #internals: HistogramInternals;
  readonly #labels: Labels<T>;
  readonly #key: string;
  // A plain copy of the (frozen) bounds and their names as bucket keys: indexing the buckets
  // by number would turn it into a string on every observation.
  readonly #bounds: readonly number[];
  readonly #bucketKeys: readonly string[];

  constructor(histogram: Histogram<T>, labels: Labels<T>) {
    this.#histogram = histogram;
    this.#internals = internalsOf(histogram);
    this.#labels = labels;
    this.#key = seriesKey(this.#internals, labels);
    this.#bounds = [...this.#internals.upperBounds];
    this.#bucketKeys = this.#bounds.map(String);
  }

  observe(value: number): void {
    const series = this.#internals.hashMap[this.#key];
    if (series === undefined || !Number.isFinite(value)) {
      this.#histogram.observe(this.#labels, value);
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
