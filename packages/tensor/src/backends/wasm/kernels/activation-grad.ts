import type { FunctionBuilder, ModuleBuilder } from "../asm/index.js";
import type { ActivationGradOp, CallOf } from "../../../ops/primitives.js";
import { addSimdMath } from "./simd-math.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_A = 0.044715;

const splat = (f: FunctionBuilder, v: number): void => void f.v128.const_f32x4(v, v, v, v);

/**
 * Adds `(v128 x, v128 g) -> v128` computing g · f'(x) four lanes at a time, for the fused
 * activation VJPs (gelu_grad, silu_grad), with the formulas of their decompositions
 * (composite/fused.ts) on top of the SIMD math library's tanh / erf / exp / sigmoid.
 */
export function addActivationGrad(m: ModuleBuilder, call: CallOf<ActivationGradOp>): FunctionBuilder {
  const kind = call.op === "silu_grad" ? "silu" : call.approximate === "tanh" ? "gelu_tanh" : "gelu_erf";
  const math = addSimdMath(m, kind === "silu" ? ["sigmoid"] : kind === "gelu_tanh" ? ["tanh"] : ["erf", "exp"]);
  return m.func({ name: `grad_${kind}`, params: ["v128", "v128"], results: ["v128"] }, (f) => {
    const [x, g] = [0, 1];
    if (kind === "gelu_tanh") {
      const x2 = f.addLocal("v128");
      const t = f.addLocal("v128");
      f.local.get(x).local.get(x).f32x4.mul().local.set(x2);
      // t = tanh(x · (c + c·a·x²))
      f.local.get(x);
      splat(f, SQRT_2_OVER_PI * GELU_A);
      f.local.get(x2).f32x4.mul();
      splat(f, SQRT_2_OVER_PI);
      f.f32x4.add().f32x4.mul().call(math.tanh!).local.set(t);
      // 0.5 + 0.5t
      f.local.get(t);
      splat(f, 0.5);
      f.f32x4.mul();
      splat(f, 0.5);
      f.f32x4.add();
      // + 0.5x · (1 − t²) · (c + 3c·a·x²)
      f.local.get(x);
      splat(f, 0.5);
      f.f32x4.mul();
      splat(f, 1);
      f.local.get(t).local.get(t).f32x4.mul().f32x4.sub().f32x4.mul();
      splat(f, 3 * SQRT_2_OVER_PI * GELU_A);
      f.local.get(x2).f32x4.mul();
      splat(f, SQRT_2_OVER_PI);
      f.f32x4.add().f32x4.mul().f32x4.add();
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
