import type { FunctionBuilder, ModuleBuilder } from "../asm/index.js";
import type { ActivationGradOp, CallOf } from "../../../ops/primitives.js";
import { GELU_A, GELU_B, addSimdMath } from "./simd-math.js";

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SIGN = 0x8000_0000 | 0;

const splat = (f: FunctionBuilder, v: number): void => void f.v128.const_f32x4(v, v, v, v);

/**
 * Adds `(v128 x, v128 g) -> v128` computing g · f'(x) four lanes at a time, for the fused
 * activation VJPs (gelu_grad, silu_grad): the derivatives of their decompositions
 * (composite/fused.ts), on top of the SIMD math library's exp / erf / sigmoid (for gelu_tanh in
 * the σ form of the forward kernel, which avoids the 1 ± tanh cancellation).
 */
export function addActivationGrad(m: ModuleBuilder, call: CallOf<ActivationGradOp>): FunctionBuilder {
  const kind = call.op === "silu_grad" ? "silu" : call.approximate === "tanh" ? "gelu_tanh" : "gelu_erf";
  const math = addSimdMath(m, kind === "silu" ? ["sigmoid"] : kind === "gelu_tanh" ? ["exp"] : ["erf", "exp"]);
  return m.func({ name: `grad_${kind}`, params: ["v128", "v128"], results: ["v128"] }, (f) => {
    const [x, g] = [0, 1];
    if (kind === "gelu_tanh") {
      // gelu(x) = x·σ(v), v = x·(A + B·x²), so gelu'(x) = σ(v) + x·v'·σ(v)(1 − σ(v)) with
      // v' = A + 3B·x². With e = e^−|v| and d = 1/(1 + e): σ(v) = d (v >= 0) or e·d (v < 0), and
      // σ(1 − σ) = e·d² for both signs. One exp and one division, and no 1 ± tanh cancellation.
      const x2 = f.addLocal("v128");
      const v = f.addLocal("v128");
      const e = f.addLocal("v128");
      const d = f.addLocal("v128");
      const ed = f.addLocal("v128");
      f.local.get(x).local.get(x).f32x4.mul().local.set(x2);
      splat(f, GELU_B);
      f.local.get(x2).f32x4.mul();
      splat(f, GELU_A);
      f.f32x4.add().local.get(x).f32x4.mul().local.tee(v);
      f.v128.const_i32x4(SIGN, SIGN, SIGN, SIGN).v128.or(); // −|v|
      f.call(math.exp!).local.tee(e);
      splat(f, 1);
      f.f32x4.add().local.set(d);
      splat(f, 1);
      f.local.get(d).f32x4.div().local.tee(d);
      f.local.get(e).f32x4.mul().local.set(ed);
      // σ(v)
      f.local.get(ed).local.get(d).local.get(v);
      splat(f, 0);
      f.f32x4.lt().v128.bitselect();
      // + x·v'·e·d²
      f.local.get(x);
      splat(f, 3 * GELU_B);
      f.local.get(x2).f32x4.mul();
      splat(f, GELU_A);
      f.f32x4.add().f32x4.mul().local.get(ed).f32x4.mul().local.get(d).f32x4.mul().f32x4.add();
    } else if (kind === "gelu_erf") {
      // Φ(x) + x φ(x) = 0.5 + 0.5 erf(x/√2) + x · exp(−x²/2) / √(2π)
      f.local.get(x);
      splat(f, Math.SQRT1_2);
      f.f32x4.mul().call(math.erf!);
      splat(f, 0.5);
      f.f32x4.mul();
      splat(f, 0.5);
      f.f32x4.add();
      f.local.get(x);
      f.local.get(x).local.get(x).f32x4.mul();
      splat(f, -0.5);
      f.f32x4.mul().call(math.exp!).f32x4.mul();
      splat(f, INV_SQRT_2PI);
      f.f32x4.mul().f32x4.add();
    } else {
      // s · (1 + x · (1 − s)), s = sigmoid(x)
      const s = f.addLocal("v128");
      f.local.get(x).call(math.sigmoid!).local.tee(s);
      splat(f, 1);
      f.local.get(x);
      splat(f, 1);
      f.local.get(s).f32x4.sub().f32x4.mul().f32x4.add().f32x4.mul();
    }
    f.local.get(g).f32x4.mul();
  });
}
