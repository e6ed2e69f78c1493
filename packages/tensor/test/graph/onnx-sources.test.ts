import { describe, expect, it } from "vitest";
import type { DType } from "@equigrad/tensor";
import { GraphBuilder } from "../../src/graph/onnx/builder.js";
import { modelOf, valueInfo } from "../../src/graph/onnx/lower.js";
import { encodeModel, ONNX_TYPE } from "../../src/graph/onnx/proto.js";
import { lowerRandom } from "../../src/graph/onnx/random.js";
import { OnnxSession } from "../../src/graph/onnx/session.js";
import { checkOp, expectExact, graphOf, meta, reference, runOnnx } from "./onnx-helpers.js";

// Source primitives: constants and fills as initializers, random as Threefry in ONNX integer ops.

describe("onnx: constant, full, arange", () => {
  it("constant of every dtype", async () => {
    await checkOp({ op: "constant", data: Float32Array.of(1.5, -2, 3e-8, 4), shape: [2, 2], dtype: "float32" }, []);
    await checkOp({ op: "constant", data: Float64Array.of(Math.PI, -1e300), shape: [2], dtype: "float64" }, []);
    await checkOp({ op: "constant", data: Int32Array.of(-7, 2147483647, 0), shape: [3, 1], dtype: "int32" }, []);
    await checkOp({ op: "constant", data: Uint8Array.of(1, 0, 1), shape: [3], dtype: "bool" }, []);
    await checkOp({ op: "constant", data: Float32Array.of(5), shape: [], dtype: "float32" }, []);
  });
  for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
    it(`full ${dtype}: small as an initializer, large as ConstantOfShape`, async () => {
      await checkOp({ op: "full", value: 1.25, shape: [2, 3], dtype }, []);
      await checkOp({ op: "full", value: -3, shape: [10, 20], dtype }, []);
      await checkOp({ op: "full", value: 7, shape: [], dtype }, []);
      await checkOp({ op: "full", value: 0, shape: [0, 4], dtype }, []);
    });
  }
  for (const dtype of ["float32", "float64", "int32"] as DType[]) {
    it(`arange ${dtype}`, async () => {
      await checkOp({ op: "arange", start: 2, step: 3, shape: [7], dtype }, []);
      await checkOp({ op: "arange", start: 0.5, step: -0.1, shape: [2, 5], dtype }, []);
    });
  }
});

describe("onnx: random reproduces the Threefry bits of the eager backends", () => {
  const key: [number, number] = [0x12345678, 0x9abcdef0];
  const cases: { dist: "uniform" | "normal" | "bernoulli"; dtype: DType; p?: number }[] = [
    { dist: "uniform", dtype: "float32" }, { dist: "uniform", dtype: "float64" },
    { dist: "normal", dtype: "float32" }, { dist: "normal", dtype: "float64" },
    { dist: "bernoulli", dtype: "bool", p: 0.3 }, { dist: "bernoulli", dtype: "float32", p: 0.7 },
    { dist: "bernoulli", dtype: "bool", p: 1 }, { dist: "bernoulli", dtype: "bool", p: 0 },
  ];
  for (const { dist, dtype, p = 0 } of cases) {
    it(`${dist} ${dtype}${dist === "bernoulli" ? ` p=${p}` : ""}`, async () => {
      for (const counter of [0, 977, 2 ** 32 - 5, 3 * 2 ** 32 + 11]) {
        const call = { op: "random", dist, key, counter, p, shape: [4, 25], dtype } as const;
        const got = (await runOnnx(graphOf(call, []), {})).y!;
        const want = reference(call, [], []);
        // Bit-exact: the integer part is exact and the word → number maps are exact in float64;
        // normal's log/cos may differ from V8's by an ulp of float64, so float64 normals get 1e-15.
        if (dist === "normal" && dtype === "float64") {
          for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want[i]!)));
        } else expectExact(got, want, `${dist} ${dtype} counter ${counter}`);
      }
    });
  }
});

describe("onnx: random with a runtime counter input", () => {
  it("draws the bits of the eager backends for counters fed at run time", async () => {
    const call = { op: "random", dist: "uniform", key: [7, 9], counter: 0, p: 0, shape: [3, 40], dtype: "float32" } as const;
    const b = new GraphBuilder();
    b.inputs.push({ name: "counter", elemType: ONNX_TYPE.int64, shape: [] });
    lowerRandom(b, call, "y", "counter");
    b.outputs.push(valueInfo("y", meta(call.shape, call.dtype)));
    const s = await OnnxSession.create(encodeModel(modelOf(b.graph("random"))), { threads: 1 });
    for (const counter of [0, 12345, 2 ** 32 - 50, 2 ** 40 + 3]) {
      // int64 inputs are fed as BigInt64Array.
      const got = (await s.run({ counter: BigInt64Array.of(BigInt(counter)) })).y!;
      expectExact(got, reference({ ...call, counter }, [], []), `counter ${counter}`);
    }
  });
});
