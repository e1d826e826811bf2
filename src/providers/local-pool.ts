import { KeelError } from "../core/errors.ts";

/**
 * A fixed set of slots (context sequences of one loaded model) shared by concurrent requests.
 * A request takes a free slot or waits in a FIFO queue; past `queueLimit` waiters it is refused
 * at once with `queue_full` (429 with a retry hint) instead of hanging. A waiter whose signal
 * aborts leaves the queue. `close()` refuses everyone still waiting; `idle()` waits for the
 * slots in use to come back.
 */
export interface PoolOptions {
  queueLimit: number;
  /** Suggested client wait when the queue is full. */
  retryAfterMs: number;
  /** For messages: "model keel-tiny.gguf". */
  label: string;
}

interface Waiter<T> {
  resolve(slot: T): void;
  reject(err: Error): void;
}

export class SlotPool<T> {
  readonly #free: T[];
  readonly #waiting: Waiter<T>[] = [];
  readonly #idle: (() => void)[] = [];
  readonly #options: PoolOptions;
  readonly size: number;
  #closed = false;

  constructor(slots: readonly T[], options: PoolOptions) {
    this.#free = [...slots];
    this.size = slots.length;
    this.#options = options;
  }

  get busy(): number {
    return this.size - this.#free.length;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  acquire(signal: AbortSignal): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new KeelError("shutting_down", `${this.#options.label} is closed`));
    }
    if (signal.aborted) return Promise.reject(aborted());
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.#waiting.length >= this.#options.queueLimit) {
      return Promise.reject(
        new KeelError(
          "queue_full",
          `${this.#options.label} is busy: ${this.size} requests running and ${this.#waiting.length} queued (queue_limit); retry shortly or raise parallel/queue_limit`,
          { retryable: true, retryAfterMs: this.#options.retryAfterMs },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(aborted());
      };
      const waiter: Waiter<T> = {
        resolve: (s) => {
          signal.removeEventListener("abort", onAbort);
          resolve(s);
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  release(slot: T): void {
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next.resolve(slot);
      return;
    }
    this.#free.push(slot);
    if (this.busy === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves once every slot is back, or after `timeoutMs`, whichever comes first. */
  idle(timeoutMs: number): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Runs `task` on a slot and gives the slot back however the task ends. */
  async use<R>(signal: AbortSignal, task: (slot: T) => Promise<R>): Promise<R> {
    const slot = await this.acquire(signal);
    try {
      return await task(slot);
    } finally {
      this.release(slot);
    }
  }

  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) {
      waiter.reject(new KeelError("shutting_down", `${this.#options.label} is closing`));
    }
  }
}

function aborted(): KeelError {
  return new KeelError("client_closed", "the request was cancelled before a model slot was free");
}
