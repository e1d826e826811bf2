/**
 * Stream chunks recognised by their text. A stream's content chunks mostly differ only in one
 * string, their text slot (the one choice's `delta.content`, or a completion's `text`), so the
 * JSON before and after that string, cut once from one chunk, recognises the next ones: such a
 * chunk is the learnt one with another string. That spares the relay a `JSON.parse` per chunk
 * on the way in (`OpenAIChunkStream`) and a `JSON.stringify` on the way out
 * (`gateway/chunk-json.ts`), and changes no byte and no value.
 *
 * Why it is exact. A template is learnt only from a chunk whose upstream text is exactly
 * `JSON.stringify` of what it parsed to. The cut is made around a sentinel string put in the
 * slot: the one place the sentinel's JSON occurs in the serialisation is that string token, so
 * the text around it is the JSON of everything else, in order. A text equal to prefix + L +
 * suffix, where L is one string token escaped exactly as `JSON.stringify` escapes, is the
 * learnt text with one string token swapped for another: it parses to the learnt values with
 * the slot's string changed (a deep copy of them, so that no chunk shares a mutable object),
 * and serialises back to itself. `chunk-template.test.ts` holds both to `JSON.parse` and
 * `JSON.stringify` over many generated chunks.
 */

type Fields = Record<string, unknown>;

/** Where the slot is: a chat choice's `delta.content`, or a completion choice's `text`. */
type SlotKind = "content" | "text";

const SENTINEL = "\u0000keel-slot\u0000";
const SENTINEL_JSON = JSON.stringify(SENTINEL);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;

export class ChunkTemplate {
  /** The learnt chunk's JSON before its slot's string token. */
  readonly prefix: string;
  /** The learnt chunk's JSON after its slot's string token. */
  readonly suffix: string;
  /** A private copy of the learnt chunk (its slot holds the sentinel). */
  readonly #source: Fields;
  readonly #kind: SlotKind;

  private constructor(prefix: string, suffix: string, source: Fields, kind: SlotKind) {
    this.prefix = prefix;
    this.suffix = suffix;
    this.#source = source;
    this.#kind = kind;
  }

  /**
   * The template of `chunk`, which `text` parsed to, when the chunk has one text slot and `text`
   * is exactly `JSON.stringify(chunk)`. Takes a copy: call it before the chunk is handed on.
   */
  static learn(text: string, chunk: unknown): ChunkTemplate | undefined {
    const kind = slotKind(chunk);
    if (kind === undefined) return undefined;
    const source = copy(chunk) as Fields;
    const value = getSlot(source, kind);
    setSlot(source, kind, SENTINEL);
    const json = JSON.stringify(source);
    const at = onlyIndex(json, SENTINEL_JSON);
    if (at === -1) return undefined;
    const prefix = json.slice(0, at);
    const suffix = json.slice(at + SENTINEL_JSON.length);
    // Also refuses a "__proto__" key: JSON.parse makes it an own key, which copy() does not.
    if (text !== prefix + JSON.stringify(value) + suffix) return undefined;
    return new ChunkTemplate(prefix, suffix, source, kind);
  }

  /** What `JSON.parse(text)` gives, when `text` fits the template; else undefined. */
  parse(text: string): unknown {
    const start = this.prefix.length;
    const end = text.length - this.suffix.length;
    // Sliced and compared with ===: several times cheaper on V8 than startsWith/endsWith.
    if (
      end - start < 2 ||
      text.slice(0, start) !== this.prefix ||
      text.slice(end) !== this.suffix ||
      !isStringifiedString(text, start, end)
    ) {
      return undefined;
    }
    const chunk = copy(this.#source) as Fields;
    // Parsed rather than sliced: a slice would keep the whole upstream read alive with it.
    setSlot(chunk, this.#kind, JSON.parse(text.slice(start, end)) as string);
    return chunk;
  }

  /**
   * The template's two sides with `"model":<from>` swapped for `"model":<to>`, when that pair
   * occurs once in its JSON (it is then the top-level model; it is never across the slot,
   * whose key is not "model"); else undefined.
   */
  withModel(from: string, to: string): { prefix: string; suffix: string } | undefined {
    const pair = `"model":${JSON.stringify(from)}`;
    const swapped = `"model":${JSON.stringify(to)}`;
    const inPrefix = this.prefix.indexOf(pair);
    const inSuffix = this.suffix.indexOf(pair);
    if (inPrefix !== -1 && inSuffix === -1 && this.prefix.indexOf(pair, inPrefix + 1) === -1) {
      return { prefix: swap(this.prefix, inPrefix, pair, swapped), suffix: this.suffix };
    }
    if (inSuffix !== -1 && inPrefix === -1 && this.suffix.indexOf(pair, inSuffix + 1) === -1) {
      return { prefix: this.prefix, suffix: swap(this.suffix, inSuffix, pair, swapped) };
    }
    return undefined;
  }
}

/**
 * The chunk's one text slot, if it has one: one choice, and a non-empty string in it to fill.
 * An empty one is the chunk that opens a chat stream (`{"role":"assistant","content":""}` from
 * OpenAI, vLLM, llama.cpp): the chunks after it do not repeat its role, so a template learnt
 * from it would fit none of them, and learning costs about a parse.
 */
function slotKind(chunk: unknown): SlotKind | undefined {
  if (!isFields(chunk) || !Array.isArray(chunk.choices) || chunk.choices.length !== 1) {
    return undefined;
  }
  const choice: unknown = chunk.choices[0];
  if (!isFields(choice)) return undefined;
  if (choice.delta !== undefined) {
    return isFields(choice.delta) && isText(choice.delta.content) ? "content" : undefined;
  }
  return isText(choice.text) ? "text" : undefined;
}

function isText(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

function getSlot(chunk: Fields, kind: SlotKind): string {
  const choice = (chunk.choices as Fields[])[0]!;
  return (kind === "content" ? (choice.delta as Fields).content : choice.text) as string;
}

function setSlot(chunk: Fields, kind: SlotKind, value: string): void {
  const choice = (chunk.choices as Fields[])[0]!;
  if (kind === "content") (choice.delta as Fields).content = value;
  else choice.text = value;
}

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy of JSON data, keys in the same order (a fifth of what JSON.parse costs). */
function copy(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
    return out;
  }
  const out: Fields = {};
  for (const key in value) out[key] = copy((value as Fields)[key]);
  return out;
}

/** Where `part` occurs in `text`, when it occurs exactly once; else -1. */
function onlyIndex(text: string, part: string): number {
  const at = text.indexOf(part);
  return at !== -1 && text.indexOf(part, at + 1) === -1 ? at : -1;
}

function swap(text: string, at: number, from: string, to: string): string {
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/**
 * Whether `text[start, end)` is one JSON string token written as `JSON.stringify` writes it:
 * no unescaped quote inside, no raw control character, no lone surrogate, and no escape but
 * the ones it uses (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00xx` in lower case for the
 * other control characters). `\/`, `\u00e9` or an escaped surrogate pair parse to the same
 * string but serialise differently, so they do not pass.
 */
export function isStringifiedString(text: string, start: number, end: number): boolean {
  if (end - start < 2 || text.charCodeAt(start) !== QUOTE || text.charCodeAt(end - 1) !== QUOTE) {
    return false;
  }
  const last = end - 1;
  for (let i = start + 1; i < last; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE || c < 0x20) return false;
    if (c === BACKSLASH) {
      if (i + 1 >= last) return false;
      const e = text.charCodeAt(i + 1);
      if (e === LOWER_U) {
        if (i + 5 >= last || !isStringifiedControl(text, i + 2)) return false;
        i += 5;
      } else if (isShortEscape(e)) {
        i += 1;
      } else {
        return false;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= last) return false;
      const low = text.charCodeAt(i + 1);
      if (low < 0xdc00 || low > 0xdfff) return false;
      i += 1;
    }
  }
  return true;
}

/** `"`, `\`, b, f, n, r, t: the escapes JSON.stringify writes after a backslash. */
function isShortEscape(code: number): boolean {
  return (
    code === QUOTE ||
    code === BACKSLASH ||
    code === 0x62 ||
    code === 0x66 ||
    code === 0x6e ||
    code === 0x72 ||
    code === 0x74
  );
}

/** The four hex digits at `at` are `00xx` in lower case for a control without a short escape. */
function isStringifiedControl(text: string, at: number): boolean {
  const hex = text.slice(at, at + 4);
  if (!/^00[01][0-9a-f]$/.test(hex)) return false;
  const code = Number.parseInt(hex, 16);
  return code !== 0x08 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
}
