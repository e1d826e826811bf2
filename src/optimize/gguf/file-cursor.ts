import { open, type FileHandle } from "node:fs/promises";
import { errorMessage, KeelError } from "../../core/errors.ts";

const CHUNK = 256 * 1024;

/**
 * Sequential little-endian reads over a file through a small window, so reading a GGUF header
 * never loads the tensors. `ensure(n)` makes n bytes readable (refilling the window from the
 * file), then the synchronous readers consume them. Running past the end of the file throws a
 * 400-class error that names the file, the offset and what was being read.
 */
export class FileCursor {
  readonly path: string;
  readonly size: number;
  /** What is being read, for error messages ("metadata key general.name"). */
  context = "header";
  readonly #handle: FileHandle;
  #buffer: Buffer = Buffer.alloc(0);
  /** File offset of #buffer[0]. */
  #bufferStart = 0;
  #pos = 0;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.size = size;
  }

  static async open(path: string): Promise<FileCursor> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      const reason = errorMessage(err);
      throw new KeelError("invalid_request", `cannot open GGUF file ${path}: ${reason}`, {
        cause: err,
      });
    }
    const stat = await handle.stat();
    return new FileCursor(path, handle, stat.size);
  }

  /** Absolute file offset of the next read. */
  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.size - this.#pos;
  }

  async ensure(n: number): Promise<void> {
    const available = this.#bufferStart + this.#buffer.length - this.#pos;
    if (available >= n) return;
    if (this.#pos + n > this.size) this.fail(`the file ends at byte ${this.size}: truncated`);
    const length = Math.max(n, CHUNK);
    const buffer = Buffer.allocUnsafe(Math.min(length, this.size - this.#pos));
    const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, this.#pos);
    if (bytesRead < n) this.fail(`the file ends at byte ${this.#pos + bytesRead}: truncated`);
    this.#buffer = buffer.subarray(0, bytesRead);
    this.#bufferStart = this.#pos;
  }

  #take(n: number): number {
    const at = this.#pos - this.#bufferStart;
    if (at + n > this.#buffer.length) {
      throw new Error(`FileCursor: read of ${n} bytes without ensure()`);
    }
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#buffer.readUInt8(this.#take(1));
  }

  i8(): number {
    return this.#buffer.readInt8(this.#take(1));
  }

  u16(): number {
    return this.#buffer.readUInt16LE(this.#take(2));
  }

  i16(): number {
    return this.#buffer.readInt16LE(this.#take(2));
  }

  u32(): number {
    return this.#buffer.readUInt32LE(this.#take(4));
  }

  i32(): number {
    return this.#buffer.readInt32LE(this.#take(4));
  }

  f32(): number {
    return this.#buffer.readFloatLE(this.#take(4));
  }

  f64(): number {
    return this.#buffer.readDoubleLE(this.#take(8));
  }

  u64(): bigint {
    return this.#buffer.readBigUInt64LE(this.#take(8));
  }

  i64(): bigint {
    return this.#buffer.readBigInt64LE(this.#take(8));
  }

  /** A u64 used as a count, size or offset: it must fit a JS number and `limit`. */
  u64AsNumber(what: string, limit: number = Number.MAX_SAFE_INTEGER): number {
    const value = this.u64();
    if (value > BigInt(limit)) {
      this.fail(`${what} is ${value}, more than the file can hold: truncated or corrupt`);
    }
    return Number(value);
  }

  /** A GGUF string: u64 byte length, then UTF-8. */
  async string(): Promise<string> {
    await this.ensure(8);
    const length = this.u64AsNumber("string length", this.remaining - 8);
    await this.ensure(length);
    const at = this.#take(length);
    return this.#buffer.toString("utf8", at, at + length);
  }

  /** Raw bytes at an absolute offset, independent of the cursor (tensor data). */
  async readAt(offset: number, length: number): Promise<Buffer> {
    if (offset + length > this.size) {
      throw new KeelError(
        "invalid_request",
        `${this.path}: ${this.context} needs bytes ${offset}..${offset + length} but the file ends at byte ${this.size}: truncated`,
      );
    }
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.#handle.read(buffer, 0, length, offset);
    if (bytesRead < length) {
      throw new KeelError("invalid_request", `${this.path}: short read at byte ${offset}`);
    }
    return buffer;
  }

  fail(problem: string): never {
    throw new KeelError(
      "invalid_request",
      `${this.path}: not a valid GGUF file: ${problem} (at byte ${this.#pos}, reading ${this.context})`,
    );
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
