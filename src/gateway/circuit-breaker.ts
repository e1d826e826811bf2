import type { CircuitBreakerConfig } from "../core/config-schema.ts";

/**
 * A circuit breaker for one deployment.
 *
 *   closed ──(N consecutive failures, or error rate over the window above the limit
 *             with at least min_requests)──► open
 *   open ──(open_ms elapsed)──► half-open: up to half_open_probes calls go through
 *   half-open ──(a probe succeeds)──► closed;  ──(a probe fails)──► open again
 *
 * Transitions out of `open` happen when the state is next read (no timers). A failure is an
 * error that says the deployment is unwell (5xx, timeout, broken connection, 429); a client
 * abort or a request the upstream rejected as invalid is neutral.
 */

export type BreakerState = "closed" | "open" | "half-open";

/** Gauge values for `metrics.breakerState`. */
export const breakerStateValue: Record<BreakerState, number> = {
  closed: 0,
  "half-open": 1,
  open: 2,
};

/** What `acquire` granted: an ordinary pass, or one of the half-open probe slots. */
export type BreakerPermit = "pass" | "probe";
export type BreakerVerdict = "success" | "failure" | "neutral";

const BUCKETS = 10;

/** Request and failure counts over a sliding window, in ten buckets. */
class WindowCounter {
  readonly #bucketMs: number;
  readonly #epochs = new Array<number>(BUCKETS).fill(-1);
  readonly #totals = new Array<number>(BUCKETS).fill(0);
  readonly #failures = new Array<number>(BUCKETS).fill(0);

  constructor(windowMs: number) {
    this.#bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  record(now: number, failed: boolean): void {
    const epoch = Math.floor(now / this.#bucketMs);
    const i = epoch % BUCKETS;
    if (this.#epochs[i] !== epoch) {
      this.#epochs[i] = epoch;
      this.#totals[i] = 0;
      this.#failures[i] = 0;
    }
    this.#totals[i]! += 1;
    if (failed) this.#failures[i]! += 1;
  }

  totals(now: number): { total: number; failures: number } {
    const oldest = Math.floor(now / this.#bucketMs) - BUCKETS + 1;
    let total = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#epochs[i]! >= oldest) {
        total += this.#totals[i]!;
        failures += this.#failures[i]!;
      }
    }
    return { total, failures };
  }

  clear(): void {
    this.#epochs.fill(-1);
  }
}

export interface CircuitBreakerOptions {
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
  onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  readonly #config: CircuitBreakerConfig;
  readonly #now: () => number;
  readonly #onStateChange: ((state: BreakerState) => void) | undefined;
  readonly #window: WindowCounter;
  #state: BreakerState = "closed";
  #openedAt = 0;
  #consecutiveFailures = 0;
  #probesInFlight = 0;

  constructor(config: CircuitBreakerConfig, options: CircuitBreakerOptions = {}) {
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
    this.#window = new WindowCounter(config.window_ms);
  }

  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#config.open_ms) {
      this.#probesInFlight = 0;
      this.#transition("half-open");
    }
    return this.#state;
  }

  /** Whether a call may go through now, without reserving anything. */
  canPass(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    return state === "half-open" && this.#probesInFlight < this.#config.half_open_probes;
  }

  /** Reserves passage for one call; undefined when the breaker refuses it. */
  acquire(): BreakerPermit | undefined {
    const state = this.state;
    if (state === "closed") return "pass";
    if (state === "half-open" && this.#probesInFlight < this.#config.half_open_probes) {
      this.#probesInFlight += 1;
      return "probe";
    }
    return undefined;
  }

  /** Reports how a call that `acquire` let through ended. */
  release(permit: BreakerPermit, verdict: BreakerVerdict): void {
    if (permit === "probe") {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (this.#state !== "half-open" || verdict === "neutral") return;
      if (verdict === "success") this.#close();
      else this.#open();
      return;
    }
    // A pass granted while closed whose answer arrives after the breaker opened says nothing
    // about the deployment's recovery: only probes decide that.
    if (this.#state !== "closed" || verdict === "neutral") return;
    const now = this.#now();
    this.#window.record(now, verdict === "failure");
    if (verdict === "success") {
      this.#consecutiveFailures = 0;
      return;
    }
    this.#consecutiveFailures += 1;
    if (this.#consecutiveFailures >= this.#config.consecutive_failures) {
      this.#open();
      return;
    }
    const { total, failures } = this.#window.totals(now);
    if (total >= this.#config.min_requests && failures / total > this.#config.error_rate) {
      this.#open();
    }
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#probesInFlight = 0;
    this.#transition("open");
  }

  #close(): void {
    this.#consecutiveFailures = 0;
    this.#probesInFlight = 0;
    this.#window.clear();
    this.#transition("closed");
  }

  #transition(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onStateChange?.(state);
  }
}
