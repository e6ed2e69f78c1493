import { describe, expect, it } from "vitest";
import { DECOMPOSITIONS, Rng, fused, type Tensor } from "@equigrad/tensor";

// A fused composite's kernel (where the backend has one) must agree with its decomposition.
const cases: [string, number[], (x: Tensor) => Tensor][] = [
  ["contiguous rows", [7, 33], (x) => x],
  ["transposed", [33, 7], (x) => x.transpose()],
  ["stepped slice", [7, 66], (x) => x.slice(null, [0, undefined, 2])],
  ["3-d", [2, 5, 9], (x) => x],
];

describe("fused composites match their decompositions", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, shape, view] of cases) {
      it(`${dtype} ${name}`, () => {
        const x = view(new Rng(7).normal(shape, 0, 3, dtype));
        const calls = [
          { op: "softmax", axis: x.ndim - 1 },
          { op: "softmax", axis: 0 },
          { op: "log_softmax", axis: x.ndim - 1 },
          { op: "log_softmax", axis: 0 },
          { op: "layer_norm", eps: 1e-5 },
          { op: "rms_norm", eps: 1e-6 },
        ] as const;
        for (const call of calls) {
          const got = fused(call, x).toArray();
          const want = (DECOMPOSITIONS[call.op] as (x: Tensor, c: typeof call) => Tensor)(x, call).toArray();
          const tol = dtype === "float32" ? 2e-6 : 1e-13;
          want.forEach((w, i) => expect(Math.abs(got[i]! - w), `${call.op} element ${i}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w))));
        }
      });
    }
  }
});
