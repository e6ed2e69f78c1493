import { describe, it } from "vitest";
import type { DType } from "@equigrad/tensor";
import { checkOp, meta, randomData, rng } from "./onnx-helpers.js";

// Fused composites (Softmax/LogSoftmax/LayerNormalization kernels, the rest as decompositions)
// in ORT vs the reference backend's float64 kernels.

const FLOATS: DType[] = ["float32", "float64"];

describe("onnx: row-wise fused composites", () => {
  for (const dtype of FLOATS) {
    it(`softmax / log_softmax on any axis, ${dtype}`, async () => {
      for (const op of ["softmax", "log_softmax"] as const) {
        for (const [shape, axis] of [[[3, 7], 1], [[3, 7], 0], [[2, 3, 4], 1], [[5], 0], [[4, 1], 1]] as [number[], number][]) {
          await checkOp({ op, axis }, [meta(shape, dtype)], { lo: -6, hi: 6, scale: 4 });
        }
      }
    });
    it(`layer_norm / rms_norm over the last axis, ${dtype}`, async () => {
      for (const op of ["layer_norm", "rms_norm"] as const) {
        for (const shape of [[3, 16], [2, 3, 8], [5], [4, 1]]) {
          for (const eps of [1e-5, 0.1]) await checkOp({ op, eps }, [meta(shape, dtype)], { lo: -3, hi: 4, scale: 8 });
        }
      }
    });
    it(`norm VJPs, ${dtype}`, async () => {
      for (const op of ["layer_norm_grad", "rms_norm_grad"] as const) {
        for (const shape of [[3, 16], [2, 3, 8], [6]]) await checkOp({ op, eps: 1e-5 }, [meta(shape, dtype), meta(shape, dtype)], { lo: -2, hi: 2, scale: 16 });
      }
    });
    it(`activation VJPs, ${dtype}`, async () => {
      await checkOp({ op: "silu_grad" }, [meta([4, 9], dtype), meta([4, 9], dtype)], { lo: -5, hi: 5, scale: 4 });
      await checkOp({ op: "gelu_grad", approximate: "tanh" }, [meta([4, 9], dtype), meta([4, 9], dtype)], { lo: -5, hi: 5, scale: 4 });
      await checkOp({ op: "gelu_grad", approximate: "none" }, [meta([4, 9], dtype), meta([4, 9], dtype)], { lo: -5, hi: 5, scale: 4 });
    });
  }
});

describe("onnx: attention", () => {
  // [B, Hq, Tq, D], [B, Hkv, Tk, D], Dv
  const shapes: [number[], number[], number][] = [
    [[2, 2, 5, 4], [2, 2, 5, 4], 4], // plain
    [[1, 4, 3, 8], [1, 2, 3, 8], 6], // grouped-query, Dv ≠ D
    [[2, 3, 2, 4], [2, 1, 6, 4], 4], // multi-query, Tq < Tk (causal queries are the last Tq)
    [[1, 2, 1, 4], [1, 2, 1, 4], 2], // size-1 time
  ];
  for (const dtype of FLOATS) {
    for (const causal of [true, false]) {
      it(`attention ${causal ? "causal" : "full"} ${dtype}`, async () => {
        for (const [q, k, dv] of shapes) {
          const v = [k[0]!, k[1]!, k[2]!, dv];
          await checkOp({ op: "attention", causal, scale: 1 / Math.sqrt(q[3]!) }, [meta(q, dtype), meta(k, dtype), meta(v, dtype)], { scale: 8 });
        }
      });
      it(`attention_grad ${causal ? "causal" : "full"} ${dtype}`, async () => {
        for (const [q, k, dv] of shapes) {
          const v = [k[0]!, k[1]!, k[2]!, dv];
          const o = [q[0]!, q[1]!, q[2]!, dv];
          const metas = [meta(q, dtype), meta(k, dtype), meta(v, dtype), meta(o, dtype), meta(o, dtype)];
          // One key in float64: ORT folds the scale into FusedMatMul's float32 alpha (attention.ts).
          const oneKey64 = dtype === "float64" && k[2] === 1;
          await checkOp({ op: "attention_grad", causal, scale: 0.7 }, metas, { scale: oneKey64 ? 1e5 : 16 });
        }
      });
    }
  }
});

describe("onnx: adamw_update", () => {
  // The reference backend runs the decomposition; ORT runs the same ops in the same order, and
  // +, −, ×, ÷, √ are correctly rounded in both (float64 then rounded to float32 is too), so float32 is bit-exact.
  const calls = [
    { op: "adamw_update", beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 3e-4, bc2Sqrt: 0.31, decay: 3e-5 },
    { op: "adamw_update", beta1: 0.3, beta2: 0.999, eps: 1e-6, stepSize: 0.01, bc2Sqrt: 1, decay: 0 },
  ] as const;
  for (const dtype of FLOATS) {
    it(`p, g, m, v → [m', v', u], ${dtype}`, async () => {
      for (const call of calls) {
        const shape = [3, 7];
        // v ≥ 0 (a second moment).
        const r = rng(9);
        const data = [0, 1, 2, 3].map((i) => randomData(meta(shape, dtype), r, i === 3 ? 0 : -1, 1));
        await checkOp(call, [0, 1, 2, 3].map(() => meta(shape, dtype)), { data, scale: dtype === "float32" ? 0 : 1 });
      }
    });
  }
});
