#!/usr/bin/env node
// The `keel` command. In a checkout it runs the TypeScript sources directly (Node >= 22.18 strips
// types natively); an installed package ships only the compiled `dist/`.
/* global process, URL */
import { existsSync } from "node:fs";
import module from "node:module";

// Compiled code (the type-stripped sources included) is cached on disk between runs.
module.enableCompileCache?.();

const fromSource = new URL("../src/cli/main.ts", import.meta.url);
const entry = existsSync(fromSource) ? fromSource : new URL("../dist/cli/main.js", import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
