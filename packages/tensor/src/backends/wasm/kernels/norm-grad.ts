import { ModuleBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import type { CallOf, NormGradOp } from "../../../ops/primitives.js";
import { addConst, loop } from "./emit.js";
import { collapse, shapeKey } from "./layout.js";
import type { KernelPlan } from "./plan.js";

const MIN_PER_THREAD = 16384;

/** Whether a norm VJP runs as a row kernel here: float32 x and g, both contiguous along the last axis. */
export function normGradFusable(x: View, g: View): boolean {
  const last = x.shape.length - 1;
  return last >= 0 && x.dtype === "float32" && g.dtype === "float32" && x.strides[last] === 1 && g.strides[last] === 1 && x.shape[last]! > 0;
}

/**
 * layer_norm_grad and rms_norm_grad over contiguous float32 rows: one work unit per row;
 * each statistic is a sum with two f32x4 accumulators and a scalar tail in a fixed order (so
 * any thread count gives the same bits), then one pass writes dx.
 */
export function planNormGrad(call: CallOf<NormGradOp>, x: View, g: View): KernelPlan | null {
  if (!normGradFusable(x, g)) return null;
  const n = x.shape[x.shape.length - 1]!;
  const outer = collapse(x.shape.slice(0, -1), [x.strides.slice(0, -1), g.strides.slice(0, -1)]);
  const rows = outer.shape.reduce((a, b) => a * b, 1);
  return {
    key: ["normgrad", call.op, call.eps, n, shapeKey(outer.shape), shapeKey(outer.strides[0]!), shapeKey(outer.strides[1]!)].join(";"),
    build: () => build(call.op, call.eps, n, outer.shape, outer.strides[0]!, outer.strides[1]!),
    units: rows,
    minUnitsPerThread: Math.max(1, Math.ceil(MIN_PER_THREAD / n)),
  };
}

function build(op: NormGradOp, eps: number, n: number, outerShape: number[], xStrides: number[], gStrides: number[]): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [xArg, gArg, outArg, start, end] = [0, 1, 2, 3, 4];
    const u = f.addLocal("i32");
    const rem = f.addLocal("i32");
    const idx = f.addLocal("i32");
    const px = f.addLocal("i32");
    const pg = f.addLocal("i32");
    const po = f.addLocal("i32");
    const p = f.addLocal("i32"); // cursor into x
    const q = f.addLocal("i32"); // cursor into g
    const o = f.addLocal("i32"); // cursor into out
    const a0 = f.addLocal("v128");
    const a1 = f.addLocal("v128");
    const s = f.addLocal("f32");
    const tmp = f.addLocal("v128");
    const vMean = f.addLocal("v128");
    const vR = f.addLocal("v128");
    const vMg = f.addLocal("v128");
    const vK = f.addLocal("v128");
    const r = f.addLocal("f32");
    const vec8 = (n & ~7) * 4;
    const vec4 = (n & ~3) * 4;

    /** Pushes x (or g) at the cursor + offset as a v128: four lanes, or one lane splatted. */
    type Load = (which: "x" | "g") => void;
    const vload = (off: number): Load => (w) => void f.local.get(w === "x" ? p : q).v128.load(2, off);
    const sload: Load = (w) => void f.local.get(w === "x" ? p : q).f32.load(2).f32x4.splat();

    /**
     * s = Σ body over the row: 8 lanes at a time in a0/a1, then the tail in s, combined as
     * ((a0+a1) lanes pairwise) then the tail — a fixed order (as kernels/rows.ts).
     */
    const reduceRow = (body: (load: Load) => void): void => {
      f.v128.const_f32x4(0, 0, 0, 0).local.tee(a0).local.set(a1);
      f.f32.const(0).local.set(s);
      f.local.get(px).local.set(p).local.get(pg).local.set(q);
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(vec8).i32.ge_u(), () => {
        f.local.get(a0);
        body(vload(0));
        f.f32x4.add().local.set(a0);
        f.local.get(a1);
        body(vload(16));
        f.f32x4.add().local.set(a1);
        addConst(f, p, 32);
        addConst(f, q, 32);
      });
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(n * 4).i32.ge_u(), () => {
        f.local.get(s);
        body(sload);
        f.f32x4.extract_lane(0).f32.add().local.set(s);
        addConst(f, p, 4);
        addConst(f, q, 4);
      });
      f.local.get(a0).local.get(a1).f32x4.add();
      f.local.tee(a0).f32x4.extract_lane(0).local.get(a0).f32x4.extract_lane(1).f32.add();
      f.local.get(a0).f32x4.extract_lane(2).local.get(a0).f32x4.extract_lane(3).f32.add();
      f.f32.add().local.get(s).f32.add().local.set(s);
    };
    /** out = body over the row, 4 lanes at a time then scalar lanes. */
    const mapRow = (body: (load: Load) => void): void => {
      f.local.get(px).local.set(p).local.get(pg).local.set(q).local.get(po).local.set(o);
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(vec4).i32.ge_u(), () => {
        f.local.get(o);
        body(vload(0));
        f.v128.store(2);
        addConst(f, p, 16);
        addConst(f, q, 16);
        addConst(f, o, 16);
      });
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(n * 4).i32.ge_u(), () => {
        f.local.get(o);
        body(sload);
        f.f32x4.extract_lane(0).f32.store(2);
        addConst(f, p, 4);
        addConst(f, q, 4);
        addConst(f, o, 4);
      });
    };
    /** Pushes x − mean (layer_norm) or x (rms_norm). */
    const centered = (load: Load): void => {
      load("x");
      if (op === "layer_norm_grad") f.local.get(vMean).f32x4.sub();
    };

    f.local.get(start).local.set(u);
    loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
      f.local.get(outArg).local.get(u).i32.const(n * 4).i32.mul().i32.add().local.set(po);
      f.local.get(xArg).local.set(px).local.get(gArg).local.set(pg).local.get(u).local.set(rem);
      for (let d = outerShape.length - 1; d >= 0; d--) {
        f.local.get(rem).i32.const(outerShape[d]!).i32.rem_u().local.set(idx);
        f.local.get(px).local.get(idx).i32.const(xStrides[d]! * 4).i32.mul().i32.add().local.set(px);
        f.local.get(pg).local.get(idx).i32.const(gStrides[d]! * 4).i32.mul().i32.add().local.set(pg);
        f.local.get(rem).i32.const(outerShape[d]!).i32.div_u().local.set(rem);
      }
      if (op === "layer_norm_grad") {
        // mean
        reduceRow((load) => load("x"));
        f.local.get(s).f32.const(n).f32.div().f32x4.splat().local.set(vMean);
      }
      // r = 1 / sqrt(Σ(x − mean)² / n + eps), in float64 and rounded once
      reduceRow((load) => (centered(load), f.local.tee(tmp).local.get(tmp).f32x4.mul()));
      f.f64.const(1).local.get(s).f64.promote_f32().f64.const(n).f64.div().f64.const(eps).f64.add().f64.sqrt().f64.div();
      f.f32.demote_f64().local.tee(r).f32x4.splat().local.set(vR);
      if (op === "layer_norm_grad") {
        // mean(g)
        reduceRow((load) => load("g"));
        f.local.get(s).f32.const(n).f32.div().f32x4.splat().local.set(vMg);
      }
      // k = r² · Σ g·(x − mean) / n, so that y·mean(g·y) = (x − mean)·k
      reduceRow((load) => (load("g"), centered(load), f.f32x4.mul()));
      f.local.get(s).f32.const(n).f32.div().local.get(r).f32.mul().local.get(r).f32.mul().f32x4.splat().local.set(vK);
      // dx = r · (g − mean(g) − (x − mean)·k)
      mapRow((load) => {
        load("g");
        if (op === "layer_norm_grad") f.local.get(vMg).f32x4.sub();
        centered(load);
        f.local.get(vK).f32x4.mul().f32x4.sub().local.get(vR).f32x4.mul();
      });
      addConst(f, u, 1);
    });
  });
  return m.build();
}
