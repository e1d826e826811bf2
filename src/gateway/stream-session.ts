import { toOpenAIError } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import { readyChunks, type ReadyChunks } from "../providers/ready-chunks.ts";
import type { Usage } from "../providers/schema.ts";
import type { AttemptHandle } from "./attempt.ts";
import type { Call } from "./call.ts";
import type { CallTracker } from "./call-tracker.ts";
import { ChunkJson } from "./chunk-json.ts";
import type { SseSink } from "./sse-writer.ts";
import type { StreamGuard } from "./stream-guardrails.ts";
import { resolveUsage } from "./usage.ts";

/** The chunk shapes a session relays (chat and text completion chunks). */
export interface StreamChunk {
  model: string;
  choices: unknown[];
  usage?: Usage | null | undefined;
}

export interface ChunkAssembler<C> {
  readonly usage: Usage | undefined;
  readonly chars: number;
  readonly finishReason: string | null;
  add(chunk: C): boolean;
  assembled(model: string): unknown;
  closingChunk(model: string, reason: string): C;
  usageChunk(model: string, usage: Usage): C;
}

export interface StreamSessionParts<C> {
  call: Call;
  attempt: AttemptHandle;
  iterator: AsyncIterator<C>;
  /** The first chunk, pulled before any byte went to the client (failover happens until then). */
  first: C;
  assembler: ChunkAssembler<C>;
  /** The client asked for `stream_options.include_usage`: forward the usage chunk. */
  forwardUsage: boolean;
  requestBody: unknown;
  estimatePrompt: () => number;
  tracker: CallTracker;
  /** The route's output guardrails, applied to every chunk before it is counted or sent. */
  guard?: StreamGuard<C> | undefined;
}

/**
 * A stream that has its first chunk: relays it and the rest to the client as server-sent
 * events, then records the call. After the first byte there is no failover: an upstream
 * failure, a stall past the deployment's timeout, or the shutdown ends the stream with an
 * error event and a final chunk whose `finish_reason` is "error", and the trace says error.
 * A client that goes away aborts the upstream call. A value the output guardrails block ends
 * the stream the same way, with `finish_reason` "content_filter", and closes the upstream.
 */
export class StreamSession<C extends StreamChunk> {
  readonly #parts: StreamSessionParts<C>;
  readonly #model: string;
  /** The provider stream's fast lane, when it has one (see `ready-chunks.ts`). */
  readonly #ready: ReadyChunks<C> | undefined;
  readonly #json: ChunkJson;
  #sink: SseSink | undefined;
  #ended = false;

  constructor(parts: StreamSessionParts<C>) {
    this.#parts = parts;
    this.#model = parts.call.route.name;
    this.#ready = readyChunks(parts.iterator);
    this.#json = new ChunkJson(this.#model);
  }

  /** Relays the stream into `sink`; resolves when it has ended. Never throws. */
  async pipeTo(sink: SseSink): Promise<void> {
    const { call, attempt, iterator } = this.#parts;
    this.#sink = sink;
    sink.open();
    if (call.signal.aborted) return this.#end(call.abortReason);
    call.signal.addEventListener("abort", this.#onAbort, { once: true });
    // The chunks one upstream read carried are relayed in one pass, awaiting only a full socket.
    const ready = this.#ready;
    let chunk: C = this.#parts.first;
    try {
      for (;;) {
        const pending = this.#forward(chunk, sink);
        if (pending !== undefined) {
          await pending;
          // A slow reader is not a stalled upstream: the stall timeout restarts once drained.
          attempt.touch();
        }
        if (this.#ended) return;
        const taken = ready?.takeReady();
        if (taken !== undefined) {
          chunk = taken;
          continue;
        }
        const next = await iterator.next();
        if (this.#ended) return;
        if (next.done === true) break;
        attempt.touch();
        chunk = next.value;
      }
      this.#end(undefined);
    } catch (err) {
      this.#end(err ?? new Error("stream failed"));
    }
  }

  #forward(chunk: C, sink: SseSink): Promise<void> | undefined {
    const { guard, assembler, call } = this.#parts;
    // The upstream's own text of the chunk, while the chunk is still just that text parsed.
    const ready = this.#ready;
    let text = ready?.textOf(chunk);
    if (guard?.apply(chunk) === true) text = undefined;
    if (assembler.add(chunk)) call.markFirstToken();
    const upstreamModel = chunk.model;
    chunk.model = this.#model;
    if (chunk.usage !== undefined && !this.#parts.forwardUsage) {
      // Keel asked for usage for its own accounting; the client did not.
      if (chunk.choices.length === 0) return undefined;
      chunk.usage = undefined;
      text = undefined;
    }
    const template = text === undefined ? undefined : ready?.templateOf(chunk);
    return sink.send(this.#json.stringify(chunk, text, template, upstreamModel));
  }

  readonly #onAbort = (): void => {
    this.#end(this.#parts.call.abortReason);
  };

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const { call, attempt, assembler, tracker, guard } = this.#parts;
    call.signal.removeEventListener("abort", this.#onAbort);
    const blocked = isGuardrailBlock(error) ? error : undefined;
    let failure = attempt.settle(blocked === undefined ? error : undefined) ?? blocked;
    if (blocked !== undefined) void this.#parts.iterator.return?.()?.catch(() => undefined);
    let rest: C[] = [];
    if (failure === undefined && guard !== undefined) {
      try {
        rest = guard.rest();
      } catch (err) {
        failure = isGuardrailBlock(err) ? err : undefined;
      }
    }
    for (const chunk of rest) assembler.add(chunk);
    guard?.record(call);
    const tokens = resolveUsage(assembler.usage, this.#parts.estimatePrompt, assembler.chars);
    const sink = this.#sink;
    if (sink !== undefined) {
      for (const chunk of rest) void sink.send(JSON.stringify(chunk));
      if (failure === undefined && this.#parts.forwardUsage && assembler.usage === undefined) {
        // The client asked for usage and the upstream sent none: Keel's own count.
        const { prompt_tokens, completion_tokens } = tokens;
        const usage = {
          prompt_tokens,
          completion_tokens,
          total_tokens: prompt_tokens + completion_tokens,
        };
        void sink.send(JSON.stringify(assembler.usageChunk(this.#model, usage)));
      }
      if (failure !== undefined) {
        // Best effort: a closed or congested socket drops these, and the stream ends anyway.
        void sink.send(JSON.stringify(toOpenAIError(failure)));
        const reason = failure.code === "guardrail_blocked" ? "content_filter" : "error";
        void sink.send(JSON.stringify(assembler.closingChunk(this.#model, reason)));
      }
      sink.end();
    }
    tracker.finish(call, {
      httpStatus: 200,
      error: failure,
      tokens,
      finishReason:
        failure === undefined
          ? assembler.finishReason
          : failure.code === "guardrail_blocked"
            ? "content_filter"
            : "error",
      requestBody: this.#parts.requestBody,
      responseBody: tracker.keepBodies ? assembler.assembled(this.#model) : null,
    });
  }
}

function isGuardrailBlock(error: unknown): error is KeelError {
  return error instanceof KeelError && error.code === "guardrail_blocked";
}

/** Opens a provider stream and pulls its first chunk, so that failover can happen until then. */
export async function firstChunk<C>(
  stream: AsyncIterable<C>,
): Promise<{ iterator: AsyncIterator<C>; first: C }> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) {
    throw new KeelError("provider_error", "the upstream stream ended before its first chunk", {
      status: 502,
      retryable: true,
    });
  }
  return { iterator, first: first.value };
}
