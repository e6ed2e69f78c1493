import { describe, it } from "vitest";
import type { DType } from "@equigrad/tensor";
import { checkOp, meta } from "./onnx-helpers.js";

// Elementwise primitives lowered to ONNX and run on ORT's CPU provider vs the reference backend.

const FLOATS: DType[] = ["float32", "float64"];
/** Input ranges where each op is defined and well-conditioned. */
const RANGE: Record<string, [number, number]> = { log: [0.1, 4], sqrt: [0, 4], rsqrt: [0.1, 4], reciprocal: [0.5, 3] };

describe("onnx: unary float ops", () => {
  const ops = ["exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "gelu_tanh", "gelu_erf", "silu", "reciprocal", "erf"] as const;
  for (const op of ops) {
    for (const dtype of FLOATS) {
      it(`${op} ${dtype}`, async () => {
        const [lo, hi] = RANGE[op] ?? [-3, 3];
        await checkOp({ op }, [meta([3, 5], dtype)], { lo, hi, scale: 2 });
      });
    }
  }
  it("float64 erf (a series: ORT's kernel is float32-only) over its whole range", async () => {
    const xs = [...Array.from({ length: 41 }, (_, i) => -8 + i * 0.4), 0, -0, 1e-8, 5.99, 6.01, Infinity, -Infinity, NaN];
    for (const op of ["erf", "gelu_erf"] as const) await checkOp({ op }, [meta([xs.length], "float64")], { data: [Float64Array.from(xs)], scale: 2 });
  });
});

describe("onnx: unary numeric ops", () => {
  for (const op of ["neg", "abs", "sign", "relu", "square"] as const) {
    for (const dtype of ["float32", "float64", "int32"] as DType[]) {
      it(`${op} ${dtype}`, async () => checkOp({ op }, [meta([4, 3], dtype)], { lo: -5, hi: 5 }));
    }
  }
  it("sign and relu of zeros", async () => {
    await checkOp({ op: "sign" }, [meta([3])], { data: [Float32Array.of(0, -0, 2)] });
    await checkOp({ op: "relu" }, [meta([3])], { data: [Float32Array.of(0, -1, 2)] });
  });
  it("logical_not", async () => checkOp({ op: "logical_not" }, [meta([7], "bool")]));
  it("copy and stop_gradient keep data and dtype", async () => {
    for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
      await checkOp({ op: "copy" }, [meta([2, 2], dtype)]);
      await checkOp({ op: "stop_gradient" }, [meta([2, 2], dtype)]);
    }
  });
  for (const exponent of [2, 3, 0.5, -1.5, 1, 0]) {
    it(`pow_scalar ${exponent}`, async () => {
      await checkOp({ op: "pow_scalar", exponent }, [meta([6], "float32")], { lo: 0.2, hi: 3 });
      await checkOp({ op: "pow_scalar", exponent }, [meta([6], "float64")], { lo: 0.2, hi: 3 });
    });
  }
});

describe("onnx: binary ops with broadcasting", () => {
  const shapes: [number[], number[]][] = [[[2, 3], [2, 3]], [[2, 3], [3]], [[4, 1, 3], [2, 1]], [[], [3, 2]], [[1], [5, 1, 1]], [[0, 3], [1, 3]]];
  for (const op of ["add", "sub", "mul", "maximum", "minimum"] as const) {
    for (const dtype of ["float32", "float64", "int32"] as DType[]) {
      it(`${op} ${dtype}`, async () => {
        for (const [a, b] of shapes) await checkOp({ op }, [meta(a, dtype), meta(b, dtype)], { lo: -9, hi: 9 });
      });
    }
  }
  for (const dtype of FLOATS) {
    it(`div ${dtype}`, async () => {
      for (const [a, b] of shapes) await checkOp({ op: "div" }, [meta(a, dtype), meta(b, dtype)], { lo: 0.5, hi: 3 });
    });
    it(`pow ${dtype}`, async () => {
      for (const [a, b] of shapes) await checkOp({ op: "pow" }, [meta(a, dtype), meta(b, dtype)], { lo: 0.3, hi: 2.5, scale: 2 });
    });
  }
  it("int32 add/sub/mul wrap around", async () => {
    const big = Int32Array.of(2147483647, -2147483648, 65536);
    for (const op of ["add", "sub", "mul"] as const) await checkOp({ op }, [meta([3], "int32"), meta([3], "int32")], { data: [big, Int32Array.of(1, 1, 65536)] });
  });
  it("maximum/minimum propagate NaN", async () => {
    const a = Float32Array.of(NaN, 1, 2), b = Float32Array.of(0, NaN, 1);
    await checkOp({ op: "maximum" }, [meta([3]), meta([3])], { data: [a, b] });
    await checkOp({ op: "minimum" }, [meta([3]), meta([3])], { data: [a, b] });
  });
  for (const op of ["eq", "ne", "lt", "le", "gt", "ge"] as const) {
    it(`${op} float32/float64/int32/bool`, async () => {
      for (const dtype of ["float32", "float64", "int32"] as DType[]) {
        // Few distinct values so ties occur.
        for (const [a, b] of shapes) await checkOp({ op }, [meta(a, dtype), meta(b, dtype)], { lo: -2, hi: 2, data: undefined, seed: 3 });
      }
      if (op === "eq" || op === "ne") await checkOp({ op }, [meta([3, 4], "bool"), meta([4], "bool")]);
    });
  }
  it("eq/ne with NaN", async () => {
    const a = Float32Array.of(NaN, 1, NaN), b = Float32Array.of(NaN, 1, 0);
    await checkOp({ op: "eq" }, [meta([3]), meta([3])], { data: [a, b] });
    await checkOp({ op: "ne" }, [meta([3]), meta([3])], { data: [a, b] });
  });
  for (const op of ["logical_and", "logical_or"] as const) {
    it(op, async () => checkOp({ op }, [meta([2, 3, 4], "bool"), meta([3, 1], "bool")]));
  }
});

describe("onnx: where and cast", () => {
  it("where broadcasts condition and branches", async () => {
    for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
      await checkOp({ op: "where" }, [meta([2, 1, 4], "bool"), meta([3, 4], dtype), meta([1], dtype)]);
    }
  });
  const DTYPES: DType[] = ["bool", "int32", "float32", "float64"];
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      it(`cast ${from} → ${to}`, async () => {
        // Floats with fractions and exact zeros: truncation toward zero and != 0 for bool.
        const data = from === "float32" ? [Float32Array.of(-2.7, -0.5, 0, 0.5, 1.9, 3)] : from === "float64" ? [Float64Array.of(-2.7, -0.5, 0, 0.5, 1.9, 3)] : undefined;
        await checkOp({ op: "cast", dtype: to }, [meta([6], from)], { data, lo: -3, hi: 3 });
      });
    }
  }
});
