import type { Token } from "node-llama-cpp";

/**
 * Turns generated tokens into text pieces the client can be sent, one token at a time:
 * - a character split over several byte tokens is held until it is complete;
 * - text that might be the start of a stop sequence is held until it is not;
 * - once a stop sequence appears, the text before it is released and the stream is done
 *   (the stop sequence itself is not part of the output, as in the OpenAI API).
 * Each released piece carries the per-token data (logprobs) of the tokens that produced it.
 */
export type Detokenize = (tokens: readonly Token[], lastTokens: readonly Token[]) => string;

export interface TextPiece<D> {
  text: string;
  data: D[];
}

const MAX_PENDING_TOKENS = 4; // a UTF-8 character has at most 4 bytes
const CONTEXT_TOKENS = 8;

export class TextAssembler<D> {
  readonly #detokenize: Detokenize;
  readonly #stop: readonly string[];
  readonly #maxStop: number;
  #pendingTokens: Token[] = [];
  #pendingData: D[] = [];
  #context: Token[] = [];
  /** Decoded text not yet released, in pieces that keep their token data. */
  #held: TextPiece<D>[] = [];
  #stopped = false;

  constructor(detokenize: Detokenize, stop: readonly string[]) {
    this.#detokenize = detokenize;
    this.#stop = stop.filter((s) => s.length > 0);
    this.#maxStop = Math.max(0, ...this.#stop.map((s) => s.length));
  }

  /** True once a stop sequence has been seen; push nothing more. */
  get stopped(): boolean {
    return this.#stopped;
  }

  push(token: Token, data: D): TextPiece<D> | undefined {
    this.#pendingTokens.push(token);
    this.#pendingData.push(data);
    const text = this.#detokenize(this.#pendingTokens, this.#context);
    if (text.endsWith("\uFFFD") && this.#pendingTokens.length < MAX_PENDING_TOKENS) {
      return undefined;
    }
    this.#decoded(text);
    return this.#release(false);
  }

  /** Releases everything still held (end of generation). */
  finish(): TextPiece<D> | undefined {
    if (this.#pendingTokens.length > 0) {
      this.#decoded(this.#detokenize(this.#pendingTokens, this.#context));
    }
    return this.#release(true);
  }

  #decoded(text: string): void {
    this.#context = [...this.#context, ...this.#pendingTokens].slice(-CONTEXT_TOKENS);
    this.#held.push({ text, data: this.#pendingData });
    this.#pendingTokens = [];
    this.#pendingData = [];
  }

  #release(all: boolean): TextPiece<D> | undefined {
    if (this.#stopped) return undefined;
    const buffer = this.#held.map((p) => p.text).join("");
    const at = this.#firstStop(buffer);
    if (at >= 0) {
      this.#stopped = true;
      return this.#take(at, true);
    }
    const keep = all ? 0 : this.#stopPrefixLength(buffer);
    return this.#take(buffer.length - keep, false);
  }

  /** Releases the first `chars` characters: whole pieces, plus a cut piece when stopping. */
  #take(chars: number, cut: boolean): TextPiece<D> | undefined {
    let text = "";
    const data: D[] = [];
    while (this.#held.length > 0) {
      const piece = this.#held[0]!;
      const room = chars - text.length;
      if (piece.text.length <= room) {
        text += piece.text;
        data.push(...piece.data);
        this.#held.shift();
        continue;
      }
      if (cut && room > 0) {
        text += piece.text.slice(0, room);
        data.push(...piece.data);
      }
      break;
    }
    if (cut) this.#held = [];
    return text.length > 0 || data.length > 0 ? { text, data } : undefined;
  }

  #firstStop(buffer: string): number {
    let first = -1;
    for (const stop of this.#stop) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    return first;
  }

  /** Length of the longest buffer suffix that is a proper prefix of a stop sequence. */
  #stopPrefixLength(buffer: string): number {
    for (let k = Math.min(this.#maxStop - 1, buffer.length); k > 0; k--) {
      const tail = buffer.slice(buffer.length - k);
      if (this.#stop.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
