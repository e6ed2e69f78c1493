// Shared test helpers: typed access to WebAssembly and small kernels.
import { spawnSync } from "node:child_process";
import type { FunctionBuilder, WasmMemory } from "../../src/backends/wasm/asm/index.js";
import { wasmApi } from "../../src/backends/wasm/asm/index.js";

export function sharedMemory(initial: number, maximum: number): WasmMemory {
  return new (wasmApi().Memory)({ initial, maximum, shared: true });
}

/** Byte address `base + index * 4` where both are i32 locals. */
export function addr4(f: FunctionBuilder, base: number, index: number): FunctionBuilder {
  return f.local.get(base).local.get(index).i32.const(2).i32.shl().i32.add();
}

/**
 * Runs `script` (CommonJS, reads base64 module bytes from stdin) in a fresh Node
 * with the given V8 flags. Returns null if this Node rejects the flags.
 */
export function runNode(flags: string[], script: string, input: string): { stdout: string; stderr: string; status: number | null } | null {
  const r = spawnSync(process.execPath, [...flags, "-e", script], { input, encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0 && /bad option/i.test(r.stderr)) return null;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
