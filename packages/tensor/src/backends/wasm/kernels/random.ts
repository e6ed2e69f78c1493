import { ModuleBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import type { CallOf } from "../../../ops/primitives.js";
import { STORAGE, addConst, loop } from "./emit.js";
import type { KernelPlan } from "./plan.js";

/**
 * Uniform and Bernoulli draws (dropout's masks) as Threefry-2x32-20 in i32 ops, element i from
 * counter + i, with the word → number maps of random/threefry.ts done exactly (powers of two
 * in float arithmetic), so the bits equal the reference kernel's. Normal draws (Box–Muller
 * through Math.log and Math.cos, initialisation only) stay on the reference kernel.
 * The key and counter are arguments, not constants, so one module serves every step.
 */

const ROT = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;
const TWO32 = 4294967296;
/** Elements per work unit. */
const BLOCK = 4096;

/** Args after the output address: k0, k1, counter low word, counter high word. */
export function planRandom(call: CallOf<"random">, out: View): { plan: KernelPlan; args: number[] } | null {
  const { dist, p } = call;
  const dtype = out.dtype;
  if (dist === "normal" || (dist === "uniform" && dtype !== "float32" && dtype !== "float64")) return null;
  const n = out.shape.reduce((a, b) => a * b, 1);
  const units = Math.ceil(n / BLOCK);
  const plan: KernelPlan = {
    key: ["random", dist, dtype, n, dist === "bernoulli" ? p : 0].join(";"),
    build: () => build(dist, dtype, n, p),
    units,
    minUnitsPerThread: 4,
  };
  const [k0, k1] = call.key;
  return { plan, args: [k0 | 0, k1 | 0, call.counter % TWO32 | 0, Math.floor(call.counter / TWO32) | 0] };
}

function build(dist: "uniform" | "bernoulli", dtype: View["dtype"], n: number, p: number): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [out, k0, k1, lo, hi, start, end] = [0, 1, 2, 3, 4, 5, 6];
    const i = f.addLocal("i32");
    const last = f.addLocal("i32");
    const ks2 = f.addLocal("i32");
    const x0 = f.addLocal("i32");
    const x1 = f.addLocal("i32");
    const c = f.addLocal("i64");
    const po = f.addLocal("i32");
    const store = STORAGE[dtype];
    // ks2 = 0x1bd11bda ^ k0 ^ k1; the counter as one u64.
    f.i32.const(0x1bd11bda).local.get(k0).i32.xor().local.get(k1).i32.xor().local.set(ks2);
    f.local.get(hi).i64.extend_i32_u().i64.const(32).i64.shl().local.get(lo).i64.extend_i32_u().i64.or().local.set(c);
    // Elements [start·BLOCK, min(end·BLOCK, n)).
    f.local.get(start).i32.const(BLOCK).i32.mul().local.set(i);
    f.local.get(end).i32.const(BLOCK).i32.mul().local.tee(last).i32.const(n).local.get(last).i32.const(n).i32.lt_u().select().local.set(last);
    f.local.get(out).local.get(i).i32.const(store.bytes).i32.mul().i32.add().local.set(po);
    const ks = [k0, k1, ks2];
    loop(f, () => f.local.get(i).local.get(last).i32.ge_u(), () => {
      // (c0, c1) = words of counter + i, plus the first key injection.
      f.local.get(c).local.get(i).i64.extend_i32_u().i64.add();
      f.i32.wrap_i64().local.get(k0).i32.add().local.set(x0);
      f.local.get(c).local.get(i).i64.extend_i32_u().i64.add().i64.const(32).i64.shr_u();
      f.i32.wrap_i64().local.get(k1).i32.add().local.set(x1);
      for (let r5 = 0; r5 < 5; r5++) {
        for (const r of ROT[r5 % 2]!) {
          f.local.get(x0).local.get(x1).i32.add().local.set(x0);
          f.local.get(x1).i32.const(r).i32.rotl().local.get(x0).i32.xor().local.set(x1);
        }
        f.local.get(x0).local.get(ks[(r5 + 1) % 3]!).i32.add().local.set(x0);
        f.local.get(x1).local.get(ks[(r5 + 2) % 3]!).i32.add().i32.const(r5 + 1).i32.add().local.set(x1);
      }
      f.local.get(po);
      if (dist === "bernoulli") {
        // w0 / 2³² < p, exactly (a power-of-two scale), as 0 / 1 in the output dtype.
        f.local.get(x0).f64.convert_i32_u().f64.const(1 / TWO32).f64.mul().f64.const(p).f64.lt();
        if (dtype === "float32") f.f32.convert_i32_u();
        else if (dtype === "float64") f.f64.convert_i32_u();
      } else if (dtype === "float32") {
        // (w0 >>> 8) / 2²⁴: 24 bits, exact in float32.
        f.local.get(x0).i32.const(8).i32.shr_u().f32.convert_i32_u().f32.const(1 / 16777216).f32.mul();
      } else {
        // ((w0 >>> 5)·2²⁶ + (w1 >>> 6)) / 2⁵³: 53 bits, exact in float64.
        f.local.get(x0).i32.const(5).i32.shr_u().f64.convert_i32_u().f64.const(67108864).f64.mul();
        f.local.get(x1).i32.const(6).i32.shr_u().f64.convert_i32_u().f64.add().f64.const(1 / 9007199254740992).f64.mul();
      }
      store.store(f);
      addConst(f, po, store.bytes);
      addConst(f, i, 1);
    });
  });
  return m.build();
}
