import type { ChunkTemplate } from "../providers/chunk-template.ts";

/**
 * The JSON text of each relayed chunk: always exactly `JSON.stringify(chunk)`, but without
 * running it when the provider vouches for the chunk's upstream text and that text fits a
 * template (see `providers/chunk-template.ts`). The chunk is then that text parsed, its
 * `model` since set to the public name and nothing else changed, so its JSON is the text with
 * the model swapped: the template's sides with the public model around the text's own string
 * token.
 */
export class ChunkJson {
  readonly #model: string;
  /** The sides of the template last used, with the public model (undefined: not swappable). */
  #template: ChunkTemplate | undefined;
  #sides: { prefix: string; suffix: string } | undefined;

  /** `model` is the public model name every chunk is sent with. */
  constructor(model: string) {
    this.#model = model;
  }

  /**
   * `JSON.stringify(chunk)`, `chunk.model` being the public name already. `text` and
   * `template` are the provider's (`ReadyChunks`), given only while the chunk is untouched but
   * for its model; `upstreamModel` is the model the text names.
   */
  stringify(
    chunk: unknown,
    text: string | undefined,
    template: ChunkTemplate | undefined,
    upstreamModel: string,
  ): string {
    if (text === undefined || template === undefined) return JSON.stringify(chunk);
    if (template !== this.#template) {
      this.#template = template;
      this.#sides = template.withModel(upstreamModel, this.#model);
    }
    const sides = this.#sides;
    if (sides === undefined) return JSON.stringify(chunk);
    const token = text.slice(template.prefix.length, text.length - template.suffix.length);
    return sides.prefix + token + sides.suffix;
  }
}
