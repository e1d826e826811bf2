/**
 * `npm run bench -- NAME [args]`: runs one benchmark, which prints a table. Each compares Keel
 * against a baseline measured in the same run.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  gateway: () => import("./gateway.ts"),
  local: () => import("./local.ts"),
  pii: () => import("./pii.ts"),
  soak: () => import("./soak.ts"),
  traces: () => import("./traces.ts"),
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : benches[name];
if (load === undefined) {
  process.stderr.write(
    `usage: npm run bench -- <${Object.keys(benches).join("|")}> [options]\n` +
      (name === undefined ? "" : `unknown benchmark "${name}"\n`),
  );
  process.exitCode = 2;
} else {
  await (await load()).run(args);
}
