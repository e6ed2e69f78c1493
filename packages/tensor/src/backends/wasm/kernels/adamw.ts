// The fused AdamW update (primitives.ts `adamw_update`): one pass reads p, g, m, v and writes
// m', v', u into the three thirds of the packed output. Every lane computes the decomposition's
// float32 ops in its order (sub, mul, add, sqrt, div: each exactly rounded), so the kernel is
// bit-identical to the op-by-op decomposition on this backend.

import type { View } from "../../../backend/view.js";
import { isContiguous } from "../../../core/strided.js";
import type { CallOf } from "../../../ops/primitives.js";
import { ModuleBuilder } from "../asm/index.js";
import { addConst, loop } from "./emit.js";
import type { KernelPlan } from "./plan.js";

/** Elements per work unit (a multiple of 4). */
const BLOCK = 16384;
const MIN_PER_THREAD = 65536;

/** Float32 operands laid out contiguously: the kernel walks them as flat arrays. */
export const adamwFusable = (inputs: readonly View[]): boolean => inputs.every((v) => v.dtype === "float32" && isContiguous(v));

export function planAdamW(call: CallOf<"adamw_update">, inputs: readonly View[]): KernelPlan {
  const n = inputs[0]!.shape.reduce((a, b) => a * b, 1);
  return {
    key: ["adamw", JSON.stringify(call), n].join(";"),
    build: () => build(call, n),
    units: Math.ceil(n / BLOCK),
    minUnitsPerThread: Math.ceil(MIN_PER_THREAD / BLOCK),
  };
}

function build(c: CallOf<"adamw_update">, n: number): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  const w = 1 - c.beta1;
  m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [P, G, M, V, OUT, start, end] = [0, 1, 2, 3, 4, 5, 6];
    const i = f.addLocal("i32"), stop = f.addLocal("i32"), vecStop = f.addLocal("i32");
    const [g, m1, v1] = [f.addLocal("v128"), f.addLocal("v128"), f.addLocal("v128")];
    // Scalars enter as float32 constants, as the decomposition's JS numbers become float32 tensors.
    const k = (x: number) => f.v128.const_f32x4(x, x, x, x);
    // Byte offset i*4 from a base argument.
    const at = (base: number, third = 0) => f.local.get(base).local.get(i).i32.add().i32.const(third * n * 4).i32.add();

    const lane = (load: (base: number) => void, store: (base: number, third: number, value: () => void) => void) => {
      load(G);
      f.local.set(g);
      // m' = lerp(m, g, w)
      if (Math.abs(w) < 0.5) {
        load(M);
        f.local.get(g);
        load(M);
        f.f32x4.sub();
        k(w);
        f.f32x4.mul().f32x4.add().local.set(m1);
      } else {
        f.local.get(g).local.get(g);
        load(M);
        f.f32x4.sub();
        k(1 - w);
        f.f32x4.mul().f32x4.sub().local.set(m1);
      }
      // v' = v·β2 + (g·(1 − β2))·g
      load(V);
      k(c.beta2);
      f.f32x4.mul().local.get(g);
      k(1 - c.beta2);
      f.f32x4.mul().local.get(g).f32x4.mul().f32x4.add().local.set(v1);
      store(OUT, 0, () => f.local.get(m1));
      store(OUT, 1, () => f.local.get(v1));
      // u = (m' / (√v' / bc2Sqrt + eps))·(−stepSize) [+ p·(−decay)]
      store(OUT, 2, () => {
        if (c.decay !== 0) {
          load(P);
          k(-c.decay);
          f.f32x4.mul();
        }
        f.local.get(m1).local.get(v1).f32x4.sqrt();
        k(c.bc2Sqrt);
        f.f32x4.div();
        k(c.eps);
        f.f32x4.add().f32x4.div();
        k(-c.stepSize);
        f.f32x4.mul();
        if (c.decay !== 0) f.f32x4.add();
      });
    };

    // Units are BLOCK-element blocks; byte offsets i run over [start·BLOCK, min(end·BLOCK, n))·4.
    f.local.get(start).i32.const(BLOCK * 4).i32.mul().local.set(i);
    f.local.get(end).i32.const(BLOCK * 4).i32.mul().local.tee(stop).i32.const(n * 4).local.get(stop).i32.const(n * 4).i32.lt_u().select().local.set(stop);
    f.local.get(stop).i32.const(~15).i32.and().local.set(vecStop);
    loop(f, () => f.local.get(i).local.get(vecStop).i32.ge_u(), () => {
      lane((b) => void at(b).v128.load(2), (b, third, value) => {
        at(b, third);
        value();
        f.v128.store(2);
      });
      addConst(f, i, 16);
    });
    // Tail lanes: one element at a time, splatted so the same vector code runs.
    loop(f, () => f.local.get(i).local.get(stop).i32.ge_u(), () => {
      lane((b) => void at(b).v128.load32_splat(2), (b, third, value) => {
        at(b, third);
        value();
        f.f32x4.extract_lane(0).f32.store(2);
      });
      addConst(f, i, 4);
    });
  });
  return m.build();
}

