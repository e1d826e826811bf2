/** Command-line flags of the benchmarks: `--name value`. */

/** The value after `name`, or undefined when the flag is absent. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every value given for a repeatable flag. */
export function flags(args: string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === name && args[i + 1] ? [args[i + 1]!] : []));
}

/** An integer flag within [min, max]; a bad value stops the bench, naming the flag. */
export function intFlag(
  args: string[],
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = flag(args, name) ?? String(fallback);
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name}: expected an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
