import type { DType } from "../../../core/dtype.js";
import { hasRelaxedSimd, type FunctionBuilder } from "../asm/index.js";

/** How a dtype lives in memory and on the wasm stack. */
export interface Storage {
  readonly bytes: number;
  readonly log2: number;
  /** Stack type of a loaded element (bool loads as i32). */
  readonly stack: "f32" | "f64" | "i32";
  load(f: FunctionBuilder): void;
  store(f: FunctionBuilder): void;
}

export const STORAGE: Record<DType, Storage> = {
  float32: { bytes: 4, log2: 2, stack: "f32", load: (f) => void f.f32.load(2), store: (f) => void f.f32.store(2) },
  float64: { bytes: 8, log2: 3, stack: "f64", load: (f) => void f.f64.load(3), store: (f) => void f.f64.store(3) },
  int32: { bytes: 4, log2: 2, stack: "i32", load: (f) => void f.i32.load(2), store: (f) => void f.i32.store(2) },
  bool: { bytes: 1, log2: 0, stack: "i32", load: (f) => void f.i32.load8_u(0), store: (f) => void f.i32.store8(0) },
};

/**
 * acc ← acc + a·b on f32x4, with a and b already on the stack: one fused multiply-add where
 * relaxed SIMD is available (matmul's inner loop is bound by vector ops, and this halves
 * them), else a multiply then an add (the add is commutative, so the operand order is free).
 */
export function mulAccumulate(f: FunctionBuilder, acc: number): void {
  if (hasRelaxedSimd()) f.local.get(acc).f32x4.relaxed_madd().local.set(acc);
  else f.f32x4.mul().local.get(acc).f32x4.add().local.set(acc);
}

/** local += delta (a compile-time constant). */
export function addConst(f: FunctionBuilder, local: number, delta: number): void {
  if (delta === 0) return;
  f.local.get(local).i32.const(delta).i32.add().local.set(local);
}

/**
 * `for (;;) { if (cond) break; body }` with a fresh label pair; `exit` pushes an i32 that
 * ends the loop when non-zero.
 */
let labels = 0;
export function loop(f: FunctionBuilder, exit: () => void, body: () => void): void {
  const id = labels++;
  f.block("void", `done${id}`).loop("void", `top${id}`);
  exit();
  f.br_if(`done${id}`);
  body();
  f.br(`top${id}`).end().end();
}
