import { ModuleBuilder, type FunctionBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import type { CallOf, FusedOp } from "../../../ops/primitives.js";
import { addConst, loop } from "./emit.js";
import { collapse, shapeKey } from "./layout.js";
import type { KernelPlan } from "./plan.js";
import { addSimdMath } from "./simd-math.js";

const MIN_PER_THREAD = 16384;

/** Whether a fused op runs as a row kernel here: float32, over the last axis, contiguous along it. */
export function rowsFusable(call: CallOf<FusedOp>, x: View): boolean {
  const last = x.shape.length - 1;
  const axisOk = call.op === "layer_norm" || call.op === "rms_norm" || call.axis === last;
  return x.dtype === "float32" && axisOk && x.strides[last] === 1 && x.shape[last]! > 0;
}

/**
 * softmax, log_softmax, layer_norm and rms_norm over contiguous float32 rows: one work unit
 * per row, statistics with two f32x4 accumulators in a fixed order, then one pass that writes.
 */
export function planRows(call: CallOf<FusedOp>, x: View): KernelPlan | null {
  if (!rowsFusable(call, x)) return null;
  const n = x.shape[x.shape.length - 1]!;
  const outer = collapse(x.shape.slice(0, -1), [x.strides.slice(0, -1)]);
  const rows = outer.shape.reduce((a, b) => a * b, 1);
  const eps = call.op === "layer_norm" || call.op === "rms_norm" ? call.eps : 0;
  return {
    key: ["rows", call.op, eps, n, shapeKey(outer.shape), shapeKey(outer.strides[0]!)].join(";"),
    build: () => build(call.op, eps, n, outer.shape, outer.strides[0]!),
    units: rows,
    minUnitsPerThread: Math.max(1, Math.ceil(MIN_PER_THREAD / n)),
  };
}

function build(op: FusedOp, eps: number, n: number, outerShape: number[], outerStrides: number[]): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  const math = addSimdMath(m, op === "softmax" ? ["exp"] : op === "log_softmax" ? ["exp", "log"] : []);
  m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [xArg, outArg, start, end] = [0, 1, 2, 3];
    const u = f.addLocal("i32");
    const rem = f.addLocal("i32");
    const px = f.addLocal("i32");
    const po = f.addLocal("i32");
    const p = f.addLocal("i32");
    const q = f.addLocal("i32");
    const a0 = f.addLocal("v128");
    const a1 = f.addLocal("v128");
    const s = f.addLocal("f32");
    const stat = f.addLocal("f32"); // the row's max (softmax)
    const tmp = f.addLocal("v128");
    const vStat = f.addLocal("v128");
    const vScale = f.addLocal("v128");
    const vec8 = (n & ~7) * 4;
    const vec4 = (n & ~3) * 4;

    /**
     * Reduces body(x) over the row at px into `s`: 8 lanes at a time in a0/a1, then the
     * tail in `s`, combined as ((a0+a1) lanes pairwise) then the tail — a fixed order.
     */
    const reduceRow = (init: number, vop: () => void, sop: () => void, vbody: () => void): void => {
      f.v128.const_f32x4(init, init, init, init).local.tee(a0).local.set(a1);
      f.f32.const(init).local.set(s);
      f.local.get(px).local.set(p);
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(vec8).i32.ge_u(), () => {
        f.local.get(a0).local.get(p).v128.load(2);
        vbody();
        vop();
        f.local.set(a0);
        f.local.get(a1).local.get(p).v128.load(2, 16);
        vbody();
        vop();
        f.local.set(a1);
        addConst(f, p, 32);
      });
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(n * 4).i32.ge_u(), () => {
        f.local.get(s).local.get(p).f32.load(2).f32x4.splat();
        vbody();
        f.f32x4.extract_lane(0);
        sop();
        f.local.set(s);
        addConst(f, p, 4);
      });
      f.local.get(a0).local.get(a1);
      vop();
      f.local.tee(a0).f32x4.extract_lane(0).local.get(a0).f32x4.extract_lane(1);
      sop();
      f.local.get(a0).f32x4.extract_lane(2).local.get(a0).f32x4.extract_lane(3);
      sop();
      sop();
      f.local.get(s);
      sop();
      f.local.set(s);
    };
    /** out[i] = body(x[i]) over the row, 4 lanes at a time then scalar lanes. */
    const mapRow = (vbody: () => void): void => {
      f.local.get(px).local.set(p).local.get(po).local.set(q);
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(vec4).i32.ge_u(), () => {
        f.local.get(q).local.get(p).v128.load(2);
        vbody();
        f.v128.store(2);
        addConst(f, p, 16);
        addConst(f, q, 16);
      });
      loop(f, () => f.local.get(p).local.get(px).i32.sub().i32.const(n * 4).i32.ge_u(), () => {
        f.local.get(q).local.get(p).f32.load(2).f32x4.splat();
        vbody();
        f.f32x4.extract_lane(0).f32.store(2);
        addConst(f, p, 4);
        addConst(f, q, 4);
      });
    };
    const vadd = () => void f.f32x4.add();
    const sadd = () => void f.f32.add();
    const none = () => {};

    f.local.get(start).local.set(u);
    loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
      f.local.get(outArg).local.get(u).i32.const(n * 4).i32.mul().i32.add().local.set(po);
      f.local.get(xArg).local.set(px).local.get(u).local.set(rem);
      for (let d = outerShape.length - 1; d >= 0; d--) {
        f.local.get(px).local.get(rem).i32.const(outerShape[d]!).i32.rem_u().i32.const(outerStrides[d]! * 4).i32.mul().i32.add().local.set(px);
        f.local.get(rem).i32.const(outerShape[d]!).i32.div_u().local.set(rem);
      }
      if (op === "softmax" || op === "log_softmax") {
        reduceRow(-Infinity, () => void f.f32x4.max(), () => void f.f32.max(), none);
        f.local.get(s).local.tee(stat).f32x4.splat().local.set(vStat);
        // Σ exp(x - max)
        reduceRow(0, vadd, sadd, () => void f.local.get(vStat).f32x4.sub().call(math.exp!));
        if (op === "softmax") {
          f.f32.const(1).local.get(s).f32.div().f32x4.splat().local.set(vScale);
          mapRow(() => void f.local.get(vStat).f32x4.sub().call(math.exp!).local.get(vScale).f32x4.mul());
        } else {
          f.local.get(stat).local.get(s).f32x4.splat().call(math.log!).f32x4.extract_lane(0).f32.add().f32x4.splat().local.set(vScale);
          mapRow(() => void f.local.get(vScale).f32x4.sub());
        }
      } else if (op === "layer_norm") {
        reduceRow(0, vadd, sadd, none);
        f.local.get(s).f32.const(n).f32.div().f32x4.splat().local.set(vStat);
        reduceRow(0, vadd, sadd, () => void f.local.get(vStat).f32x4.sub().local.tee(tmp).local.get(tmp).f32x4.mul());
        rsqrtMeanPlusEps(f, s, n, eps, vScale);
        mapRow(() => void f.local.get(vStat).f32x4.sub().local.get(vScale).f32x4.mul());
      } else {
        reduceRow(0, vadd, sadd, () => void f.local.tee(tmp).local.get(tmp).f32x4.mul());
        rsqrtMeanPlusEps(f, s, n, eps, vScale);
        mapRow(() => void f.local.get(vScale).f32x4.mul());
      }
      addConst(f, u, 1);
    });
  });
  return m.build();
}

/** vScale = splat(1 / sqrt(s / n + eps)), computed in float64 and rounded once. */
function rsqrtMeanPlusEps(f: FunctionBuilder, s: number, n: number, eps: number, vScale: number): void {
  f.f64.const(1).local.get(s).f64.promote_f32().f64.const(n).f64.div().f64.const(eps).f64.add().f64.sqrt().f64.div();
  f.f32.demote_f64().f32x4.splat().local.set(vScale);
}
