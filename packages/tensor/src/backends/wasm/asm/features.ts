// Feature detection by validating tiny modules built with this assembler.
// Results are cached: the answer cannot change within a process.

import { ModuleBuilder } from "./module-builder.js";
import { maybeWasm } from "./wasm-api.js";

export type WasmFeature = "simd128" | "relaxedSimd" | "threads";

/** Bytes of the probe module for each feature (exposed so tests can check them under engine flags). */
export function featureProbe(feature: WasmFeature): Uint8Array {
  const m = new ModuleBuilder({ debug: false }); // a probe must never throw or print
  switch (feature) {
    case "simd128":
      m.func({ params: ["f32"], results: ["f32"] }, (f) => {
        f.local.get(0).f32x4.splat().local.get(0).f32x4.splat().f32x4.add().f32x4.extract_lane(0);
      });
      break;
    case "relaxedSimd":
      m.func({ results: ["v128"] }, (f) => {
        f.v128.const_f32x4(1, 2, 3, 4).v128.const_f32x4(1, 2, 3, 4).v128.const_f32x4(1, 2, 3, 4);
        f.f32x4.relaxed_madd();
      });
      break;
    case "threads":
      m.importMemory("env", "memory", { initial: 1, maximum: 1, shared: true });
      m.func({ results: ["i32"] }, (f) => {
        f.i32.const(0).i32.const(1).i32.atomic_rmw_add().atomic.fence();
      });
      break;
  }
  return m.build();
}

function validates(feature: WasmFeature): boolean {
  const api = maybeWasm();
  if (!api) return false;
  try {
    return api.validate(featureProbe(feature));
  } catch {
    return false;
  }
}

function sharedMemoryWorks(): boolean {
  const api = maybeWasm();
  if (!api || typeof SharedArrayBuffer !== "function") return false;
  try {
    // Browsers without cross-origin isolation validate atomics but refuse shared memories.
    const mem = new api.Memory({ initial: 1, maximum: 1, shared: true });
    return mem.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

const cache = new Map<WasmFeature, boolean>();

function cached(feature: WasmFeature, detect: () => boolean): boolean {
  let v = cache.get(feature);
  if (v === undefined) {
    v = detect();
    cache.set(feature, v);
  }
  return v;
}

/** Fixed-width 128-bit SIMD. */
export function hasSimd128(): boolean {
  return cached("simd128", () => validates("simd128"));
}

/**
 * Relaxed SIMD (f32x4.relaxed_madd and friends). Node 20 ships it behind a V8 flag, which we
 * turn on here: V8 flags are process-wide, so worker threads compile with it too. The fused
 * multiply-add rounds once, so results differ (slightly, and more accurately) from a machine
 * without it, but stay bit-identical across runs and thread counts on one machine.
 * `EQUIGRAD_RELAXED_SIMD=0` keeps it off.
 */
export function hasRelaxedSimd(): boolean {
  return cached("relaxedSimd", () => {
    if (!hasSimd128() || relaxedSimdDisabled()) return false;
    if (validates("relaxedSimd")) return true;
    enableRelaxedSimdFlag();
    return validates("relaxedSimd");
  });
}

const relaxedSimdDisabled = (): boolean => globalThis.process?.env?.EQUIGRAD_RELAXED_SIMD === "0";

function enableRelaxedSimdFlag(): void {
  type V8 = { setFlagsFromString(flags: string): void };
  const proc = globalThis.process as { getBuiltinModule?: (id: string) => unknown } | undefined;
  try {
    (proc?.getBuiltinModule?.("node:v8") as V8 | undefined)?.setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // Not Node, or flags are locked: stay on plain SIMD128.
  }
}

/** Shared memories + atomics, i.e. kernels can run on one memory from several workers. */
export function hasThreads(): boolean {
  return cached("threads", () => sharedMemoryWorks() && validates("threads"));
}

export function detectFeatures(): Record<WasmFeature, boolean> {
  return { simd128: hasSimd128(), relaxedSimd: hasRelaxedSimd(), threads: hasThreads() };
}
