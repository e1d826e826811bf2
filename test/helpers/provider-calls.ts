import assert from "node:assert/strict";
import { inspect } from "node:util";
import { KeelError } from "../../src/core/errors.ts";

/** Building blocks for tests that call a provider directly and look at what came back. */

/** Call options with a signal nobody aborts. */
export const call = () => ({ signal: new AbortController().signal });

/** The KeelError a promise rejects with (fails the test if it resolves or throws another). */
export async function failure(promise: Promise<unknown>): Promise<KeelError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KeelError, `expected a KeelError, got ${inspect(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

/** Every item of a stream, in order. */
export async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}
