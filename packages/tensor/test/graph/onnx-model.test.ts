import { describe, expect, it } from "vitest";
import type { Graph } from "../../src/graph/ir.js";
import { attr, GraphBuilder, tensorP } from "../../src/graph/onnx/builder.js";
import { lowerGraph, lowerToOnnx, modelOf } from "../../src/graph/onnx/lower.js";
import { evaluateGraph } from "@equigrad/tensor";
import { encodeModel, ONNX_TYPE, type GraphP } from "../../src/graph/onnx/proto.js";
import { OnnxSession } from "../../src/graph/onnx/session.js";
import { expectClose, expectExact, meta, randomData, rng, runOnnx } from "./onnx-helpers.js";

// The protobuf encoder (read back by a wire-format decoder and by ORT), multi-node graphs, and
// the session's input checks.

/** A protobuf wire-format decoder: field number → raw values (varints as bigint, the rest as bytes). */
function decode(buf: Uint8Array): Map<number, (bigint | Uint8Array)[]> {
  const out = new Map<number, (bigint | Uint8Array)[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n, s = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const field = tag >> 3, wire = tag & 7;
    let val: bigint | Uint8Array;
    if (wire === 0) val = varint();
    else if (wire === 2) {
      const n = Number(varint());
      val = buf.subarray(i, i + n);
      i += n;
    } else if (wire === 5) (val = buf.subarray(i, i + 4)), (i += 4);
    else if (wire === 1) (val = buf.subarray(i, i + 8)), (i += 8);
    else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), val]);
  }
  return out;
}
const text = (b: bigint | Uint8Array | undefined) => new TextDecoder().decode(b as Uint8Array);

describe("onnx proto encoder", () => {
  it("writes ModelProto fields with their onnx.proto numbers, negative int64s as 10-byte varints", () => {
    const body: GraphP = { name: "inner", nodes: [], initializers: [], inputs: [], outputs: [] };
    const t = tensorP("t", ONNX_TYPE.float, [2], Float32Array.of(1.5, -2));
    const bytes = encodeModel({
      irVersion: 10,
      opsets: [{ domain: "", version: 21 }],
      producerName: "equigrad",
      graph: {
        name: "g",
        nodes: [{ opType: "Foo", inputs: ["a"], outputs: ["b"], attributes: [
          attr.int("neg", -3), { name: "ts", type: "tensors", value: [t, t] }, { name: "gs", type: "graphs", value: [body] },
          { name: "ss", type: "strings", value: ["x", "yz"] }, { name: "fs", type: "floats", value: [0.5, 2] },
        ] }],
        initializers: [t],
        inputs: [{ name: "a", elemType: ONNX_TYPE.float, shape: [2, "n"] }],
        outputs: [{ name: "b", elemType: ONNX_TYPE.float }],
      },
    });
    const model = decode(bytes);
    expect(model.get(1)).toEqual([10n]); // ir_version
    expect(text(model.get(2)![0])).toBe("equigrad");
    const opset = decode(model.get(8)![0] as Uint8Array);
    expect(opset.get(2)).toEqual([21n]);
    const graph = decode(model.get(7)![0] as Uint8Array);
    expect(text(graph.get(2)![0])).toBe("g");
    const init = decode(graph.get(5)![0] as Uint8Array);
    expect(init.get(1)).toEqual([2n]);
    expect(init.get(2)).toEqual([1n]);
    expect([...new Float32Array((init.get(9)![0] as Uint8Array).slice().buffer)]).toEqual([1.5, -2]);
    const node = decode(graph.get(1)![0] as Uint8Array);
    expect(text(node.get(4)![0])).toBe("Foo");
    const attrs = node.get(5)!.map((a) => decode(a as Uint8Array));
    expect(text(attrs[0]!.get(1)![0])).toBe("neg");
    expect(attrs[0]!.get(3)).toEqual([BigInt.asUintN(64, -3n)]);
    expect(attrs[0]!.get(20)).toEqual([2n]); // AttributeType INT
    expect(attrs[1]!.get(10)!.length).toBe(2); // tensors
    expect(attrs[1]!.get(20)).toEqual([9n]);
    expect(text(decode(attrs[2]!.get(11)![0] as Uint8Array).get(2)![0])).toBe("inner"); // graphs
    expect(attrs[3]!.get(9)!.map(text)).toEqual(["x", "yz"]);
    expect(attrs[4]!.get(7)!.map((b) => new DataView((b as Uint8Array).slice().buffer).getFloat32(0, true))).toEqual([0.5, 2]);
    // Input type: TypeProto.tensor_type.shape with a value dim and a symbolic dim.
    const input = decode(graph.get(11)![0] as Uint8Array);
    const tensorType = decode(decode(input.get(2)![0] as Uint8Array).get(1)![0] as Uint8Array);
    const dims = decode(tensorType.get(2)![0] as Uint8Array).get(1)!.map((d) => decode(d as Uint8Array));
    expect(dims[0]!.get(1)).toEqual([2n]);
    expect(text(dims[1]!.get(2)![0])).toBe("n");
  });

  it("a model using float, int, string, tensor, graph, floats, ints and strings attributes loads and runs in ORT", async () => {
    const b = new GraphBuilder();
    b.inputs.push({ name: "x", elemType: ONNX_TYPE.float, shape: [2, 3] }, { name: "c", elemType: ONNX_TYPE.bool, shape: [] });
    const leaky = b.op("LeakyRelu", ["x"], [attr.float("alpha", 0.25)]); // float
    const t = b.op("Transpose", [leaky], [attr.ints("perm", [1, 0])]); // ints
    const filled = b.op("ConstantOfShape", [b.i64([3, 2])], [attr.tensor("value", tensorP("v", ONNX_TYPE.float, [1], Float32Array.of(0.5)))]); // tensor
    const sum = b.op("Add", [t, filled]);
    const red = b.op("ReduceSum", [sum, b.i64([0])], [attr.int("keepdims", 0)]); // int
    const fl = b.op("Constant", [], [{ name: "value_floats", type: "floats", value: [10, 20] }]); // floats
    const padded = b.op("Pad", [red, b.i64([1, 0])], [attr.string("mode", "edge")]); // string
    // If with then/else branches (graph attributes), each with one output.
    const branch = (name: string, k: number): GraphP => {
      const g = new GraphBuilder(`${name}_`);
      g.op("Mul", [fl, g.scalar("float32", k)], [], `${name}_out`);
      g.outputs.push({ name: `${name}_out`, elemType: ONNX_TYPE.float, shape: [2] });
      return g.graph(name);
    };
    const chosen = b.op("If", ["c"], [attr.graph("then_branch", branch("then", 1)), attr.graph("else_branch", branch("else", -1))]);
    b.op("Concat", [padded, chosen], [attr.int("axis", 0)], "y");
    b.op("Constant", [], [{ name: "value_strings", type: "strings", value: ["a", "bc"] }], "s"); // strings
    b.outputs.push({ name: "y", elemType: ONNX_TYPE.float, shape: [5] }, { name: "s", elemType: ONNX_TYPE.string, shape: [2] });
    const s = await OnnxSession.create(encodeModel(modelOf(b.graph("attrs"))), { threads: 1 });
    const x = Float32Array.of(-4, 1, 2, 3, -8, 5);
    // leaky(x) = [[-1, 1, 2], [3, -2, 5]]; transposed + 0.5, summed over its 3 rows: [3.5, 7.5];
    // edge-padded by one in front: [3.5, 3.5, 7.5]; then ±[10, 20] from the If branch.
    for (const [c, sign] of [[1, 1], [0, -1]] as const) {
      const out = await s.run({ x, c: Uint8Array.of(c) });
      expect([...out.y!]).toEqual([3.5, 3.5, 7.5, 10 * sign, 20 * sign]);
      expect(out.s).toEqual(["a", "bc"]);
    }
  });
});

describe("onnx lowering of multi-node graphs", () => {
  // y = (a · w + c) summed over axis 1; z = a (an input passed through); w2 = the same value twice.
  const graph: Graph = {
    values: [
      { id: 0, ...meta([2, 3]) }, { id: 1, ...meta([3, 4]) }, { id: 2, ...meta([4]) },
      { id: 3, ...meta([2, 4]) }, { id: 4, ...meta([2, 4]) }, { id: 5, ...meta([2, 1]) },
    ],
    inputs: [{ name: "a", value: 0 }, { name: "w", value: 1 }],
    constants: [{ value: 2, data: Float32Array.of(1, 2, 3, 4) }],
    nodes: [
      { call: { op: "matmul" }, inputs: [0, 1], output: 3 },
      { call: { op: "add" }, inputs: [3, 2], output: 4 },
      { call: { op: "sum", axes: [1] }, inputs: [4], output: 5 },
    ],
    outputs: [{ name: "y", value: 5 }, { name: "z", value: 0 }, { name: "h", value: 4 }, { name: "h2", value: 4 }],
  };
  it("constants become initializers; outputs may repeat values or be inputs", async () => {
    const s = await OnnxSession.create(lowerToOnnx(graph), { threads: 1 });
    const a = Float32Array.of(1, 2, 3, 4, 5, 6), w = Float32Array.from({ length: 12 }, (_, i) => i - 5);
    const out = await s.run({ a, w });
    const h = new Float32Array(8);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) h[i * 4 + j] = [0, 1, 2].reduce((acc, k) => acc + a[i * 3 + k]! * w[k * 4 + j]!, 0) + j + 1;
    expectClose(out.h!, h, 1e-6, 1e-6, "h");
    expectClose(out.h2!, h, 1e-6, 1e-6, "h2");
    expectClose(out.y!, Float32Array.of(h[0]! + h[1]! + h[2]! + h[3]!, h[4]! + h[5]! + h[6]! + h[7]!), 1e-6, 1e-6, "y");
    expect([...out.z!]).toEqual([...a]);
  });
  it("a node whose recorded output disagrees with its inputs fails, naming the node", () => {
    const bad: Graph = { ...graph, values: graph.values.map((v) => (v.id === 3 ? { ...v, shape: [2, 5] } : v)) };
    expect(() => lowerToOnnx(bad)).toThrow(/matmul.*node 0.*\[2, 4\] float32.*records \[2, 5\] float32/);
  });
  it("duplicate port names are refused", () => {
    expect(() => lowerToOnnx({ ...graph, outputs: [{ name: "a", value: 5 }] })).toThrow(/'a' is used twice/);
  });
});

describe("matmul whose result is only transposed", () => {
  // w_grad = (xᵀ g)ᵀ as autograd writes weight gradients; batched too. Lowered as gᵀ x: no
  // Transpose reads a MatMul output, and the values are those of the graph run eagerly.
  for (const [xs, gs] of [[[6, 4], [6, 5]], [[2, 6, 4], [2, 6, 5]]] as const) {
    it(`[${xs}] and [${gs}]`, async () => {
      const r = xs.length;
      const swap = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      const xt = [...xs.slice(0, -2), xs[r - 1], xs[r - 2]], mm = [...xs.slice(0, -2), xs[r - 1], gs[r - 1]], out = [...xs.slice(0, -2), gs[r - 1], xs[r - 1]];
      const graph: Graph = {
        values: [{ id: 0, ...meta(xs) }, { id: 1, ...meta(gs) }, { id: 2, ...meta(xt) }, { id: 3, ...meta(mm) }, { id: 4, ...meta(out) }],
        inputs: [{ name: "x", value: 0 }, { name: "g", value: 1 }],
        constants: [],
        nodes: [
          { call: { op: "permute", perm: swap }, inputs: [0], output: 2 },
          { call: { op: "matmul" }, inputs: [2, 1], output: 3 },
          { call: { op: "permute", perm: swap }, inputs: [3], output: 4 },
        ],
        outputs: [{ name: "w", value: 4 }],
      };
      const nodes = lowerGraph(graph).nodes;
      const matmulOuts = new Set(nodes.filter((n) => n.opType === "MatMul").flatMap((n) => n.outputs));
      expect(nodes.some((n) => n.opType === "Transpose" && matmulOuts.has(n.inputs[0]!))).toBe(false);
      const rr = rng(4);
      const feeds = { x: randomData(meta(xs), rr), g: randomData(meta(gs), rr) };
      const got = (await runOnnx(graph, feeds)).w!;
      const want = evaluateGraph(graph, feeds).w!.data();
      expectClose(got, want, 1e-6, 1e-6, "w");
    });
  }
});

describe("OnnxSession input checks", () => {
  const graph: Graph = {
    values: [{ id: 0, ...meta([2, 2]) }, { id: 1, ...meta([2], "int32") }, { id: 2, ...meta([2, 2]) }],
    inputs: [{ name: "x", value: 0 }, { name: "i", value: 1 }],
    constants: [],
    nodes: [{ call: { op: "copy" }, inputs: [0], output: 2 }],
    outputs: [{ name: "y", value: 2 }],
  };
  it("names the input on missing, unknown, wrongly typed or wrongly sized feeds", async () => {
    const s = await OnnxSession.create(lowerToOnnx(graph), { threads: 1 });
    const x = new Float32Array(4), i = new Int32Array(2);
    await expect(s.run({ x })).rejects.toThrow(/missing input 'i'/);
    await expect(s.run({ x, i, extra: x })).rejects.toThrow(/unknown input 'extra'/);
    await expect(s.run({ x: new Float64Array(4), i })).rejects.toThrow(/input 'x': expected float32 data, got a Float64Array/);
    await expect(s.run({ x: new Float32Array(3), i })).rejects.toThrow(/input 'x': expected shape \[2, 2\] \(4 elements\), got 3/);
    expect([...(await s.run({ x: Float32Array.of(1, 2, 3, 4), i })).y!]).toEqual([1, 2, 3, 4]);
  });
  it("a model ORT rejects fails at creation, saying so", async () => {
    const bad = new GraphBuilder();
    bad.inputs.push({ name: "x", elemType: ONNX_TYPE.float, shape: [2] });
    bad.op("NoSuchOp", ["x"], [], "y");
    bad.outputs.push({ name: "y", elemType: ONNX_TYPE.float, shape: [2] });
    await expect(OnnxSession.create(encodeModel(modelOf(bad.graph("bad"))))).rejects.toThrow(/ONNX Runtime could not load the model \(\d+ bytes\) on provider cpu: .*NoSuchOp/);
  });
  it("refuses a bad thread count", async () => {
    await expect(OnnxSession.create(lowerToOnnx(graph), { threads: 0 })).rejects.toThrow(/threads must be a positive integer/);
  });
});

describe("OnnxSession determinism", () => {
  it("1 and 2 intra-op threads give bit-identical results (matmul, reductions, softmax, layer norm)", async () => {
    const x = meta([64, 512]), w = meta([512, 256]), y = meta([64, 256]), s = meta([1, 256]);
    const graph: Graph = {
      values: [{ id: 0, ...x }, { id: 1, ...w }, { id: 2, ...y }, { id: 3, ...s }, { id: 4, ...y }, { id: 5, ...y }, { id: 6, ...meta([64, 1]) }],
      inputs: [{ name: "x", value: 0 }, { name: "w", value: 1 }],
      constants: [],
      nodes: [
        { call: { op: "matmul" }, inputs: [0, 1], output: 2 },
        { call: { op: "sum", axes: [0] }, inputs: [2], output: 3 },
        { call: { op: "softmax", axis: 1 }, inputs: [2], output: 4 },
        { call: { op: "layer_norm", eps: 1e-5 }, inputs: [2], output: 5 },
        { call: { op: "sum", axes: [1] }, inputs: [5], output: 6 },
      ],
      outputs: [{ name: "mm", value: 2 }, { name: "colsum", value: 3 }, { name: "sm", value: 4 }, { name: "ln", value: 5 }, { name: "rowsum", value: 6 }],
    };
    const model = lowerToOnnx(graph);
    const r = rng(21);
    const feeds = { x: randomData(x, r), w: randomData(w, r) };
    const one = await (await OnnxSession.create(model, { threads: 1 })).run(feeds);
    const two = await (await OnnxSession.create(model, { threads: 2 })).run(feeds);
    for (const name of Object.keys(one)) expectExact(two[name]!, one[name]!, name);
  });
});
