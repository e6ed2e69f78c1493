import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import {
  concat, crossEntropy, cumsum, flip, fromTypedArray, gather, layerNorm, logSoftmax, logsumexp, pad, rmsNorm, scaledDotProductAttention,
  scatterAdd, slice, softmax, trace, treeFlatten, variance, where, withBackend, type Meta, type Tensor, type TypedArray,
} from "@equigrad/tensor";
import { lowerGraph } from "../../src/graph/onnx/lower.js";
import { expectClose, meta, randomData, rng, runOnnx } from "./onnx-helpers.js";

// Gradients through the graph backend: trace valueAndGrad of a loss built from each op family
// (forward and the autograd backward, fused VJPs included), lower it, run it in ORT, and compare
// the value and every gradient with valueAndGrad run eagerly on the reference backend.

type Fn = (...xs: Tensor[]) => Tensor;

/** Σ c ⊙ y with a fixed random c: a scalar loss whose cotangent into y is c. */
function weighted(y: Tensor): Tensor {
  const r = rng(y.size + 17);
  const c = fromTypedArray(Float32Array.from({ length: y.size }, () => r() * 2 - 1), y.shape, "float32");
  return y.mul(c).sum();
}

async function checkGrad(f: Fn, metas: readonly Meta[], opts: { lo?: number; hi?: number; data?: TypedArray[]; tol?: number; ops?: string[]; onnxCounts?: Record<string, number> } = {}): Promise<void> {
  const r = rng(3);
  const data = opts.data ?? metas.map((m) => randomData(m, r, opts.lo ?? -2, opts.hi ?? 2));
  const vg = valueAndGrad((...xs: Tensor[]) => weighted(f(...xs)), { argnums: metas.map((_, i) => i) });
  const { graph } = trace((...xs) => {
    const [v, g] = vg(...xs);
    return { v, g };
  }, metas.map((m, i) => ({ ...m, name: `x${i}` })));
  if (process.env.SHOW_OPS) console.log([...new Set(graph.nodes.map((n) => n.call.op))].join(" "));
  // The primitives the case is about must be in the traced graph (forward and backward).
  for (const op of opts.ops ?? []) expect(graph.nodes.map((n) => n.call.op), `traced graph has ${op}`).toContain(op);
  const lowered = lowerGraph(graph).nodes.map((n) => n.opType);
  for (const [op, count] of Object.entries(opts.onnxCounts ?? {})) expect(lowered.filter((o) => o === op).length, `ONNX ${op} nodes`).toBe(count);
  const outs = await runOnnx(graph, Object.fromEntries(data.map((d, i) => [`x${i}`, d])));
  const want = withBackend("reference", () => {
    const [v, g] = vg(...metas.map((m, i) => fromTypedArray(data[i]!, m.shape, m.dtype)));
    return treeFlatten({ v, g })[0].map((t) => (t as Tensor).data());
  });
  const t = opts.tol ?? 1e-5;
  graph.outputs.forEach((p, i) => expectClose(outs[p.name]!, want[i]!, t, t, `output ${p.name}`));
}

const m = (...shape: number[]) => meta(shape);

describe("onnx gradients: elementwise", () => {
  const unary: [string, Fn, number?, number?][] = [
    ["exp", (x) => x.exp()], ["log", (x) => x.log(), 0.2, 3], ["sqrt", (x) => x.sqrt(), 0.2, 3], ["rsqrt", (x) => x.rsqrt(), 0.3, 3],
    ["sin", (x) => x.sin()], ["cos", (x) => x.cos()], ["tanh", (x) => x.tanh()], ["sigmoid", (x) => x.sigmoid()],
    ["gelu tanh", (x) => x.gelu("tanh")], ["gelu erf", (x) => x.gelu("none")], ["silu", (x) => x.silu()], ["erf", (x) => x.erf()],
    ["reciprocal", (x) => x.reciprocal(), 0.5, 3], ["abs", (x) => x.abs()], ["relu", (x) => x.relu()], ["square", (x) => x.square()],
    ["pow scalar", (x) => x.pow(3)], ["neg", (x) => x.neg()],
  ];
  const fusedVjp: Record<string, string> = { "gelu tanh": "gelu_grad", "gelu erf": "gelu_grad", silu: "silu_grad" };
  for (const [name, f, lo, hi] of unary) it(name, async () => checkGrad(f, [m(3, 5)], { lo, hi, ops: fusedVjp[name] ? [fusedVjp[name]] : [] }));
  it("binary ops with broadcasting", async () => {
    await checkGrad((x, y) => x.add(y).mul(x.sub(y)), [m(3, 4), m(4)]);
    await checkGrad((x, y) => x.div(y), [m(3, 4), m(3, 1)], { lo: 0.5, hi: 2 });
    await checkGrad((x, y) => x.pow(y), [m(2, 3), m(3)], { lo: 0.5, hi: 2 });
    await checkGrad((x, y) => x.maximum(y).add(x.minimum(y).mul(2)), [m(3, 4), m(1, 4)]);
  });
  it("where and comparisons", async () => {
    await checkGrad((x, y) => where(x.gt(y), x.mul(2), y.sin()), [m(3, 4), m(4)]);
  });
});

describe("onnx gradients: reductions, matmul, movement, indexing", () => {
  it("sum, max, min, mean, variance, logsumexp, cumsum", async () => {
    await checkGrad((x) => x.sum(1, true).mul(x.max(0, true)).add(x.min(1, true)), [m(3, 4)]);
    await checkGrad((x) => variance(x, 1).add(x.mean(0).sum()), [m(3, 4)]);
    await checkGrad((x) => logsumexp(x, -1).sum().add(cumsum(x, 1).mul(cumsum(x, 2)).sum()), [m(2, 3, 4)], { ops: ["cumsum", "slice"] });
  });
  it("batched matmul with broadcasting", async () => {
    await checkGrad((a, b) => a.matmul(b), [m(2, 3, 4), m(4, 5)]);
    await checkGrad((a, b) => a.matmul(b), [m(2, 1, 3, 4), m(3, 4, 2)]);
  });
  it("reshape, permute, expand, slice with negative steps, flip, concat, pad", async () => {
    await checkGrad((x) => x.permute(2, 0, 1).reshape([4, 6]).expand([2, 4, 6]), [m(2, 3, 4)]);
    await checkGrad((x) => slice(x, [[undefined, undefined, -1], [1, 4, 2]]).add(flip(x, 1).square().sum()), [m(3, 5)]);
    await checkGrad((x, y) => pad(concat([x, y.exp()], 1), [[1, 0], [0, 2]]), [m(2, 3), m(2, 1)], { ops: ["pad", "concat", "slice"] });
  });
  it("gather and scatter_add", async () => {
    const idx = fromTypedArray(Int32Array.of(0, 2, 2, 1, 1, 0), [2, 3], "int32");
    await checkGrad((x) => gather(x, idx, 1), [m(2, 4)], { ops: ["gather", "scatter_add"] });
    await checkGrad((base, src) => scatterAdd(base, idx, src, 1).square(), [m(2, 4), m(2, 3)]);
  });
});

describe("onnx gradients: fused composites", () => {
  it("softmax and log_softmax", async () => {
    await checkGrad((x) => softmax(x, -1).add(logSoftmax(x, 0)), [m(3, 6)]);
  });
  it("layer_norm and rms_norm with affine parts", async () => {
    await checkGrad((x, w, b) => layerNorm(x, w, b), [m(4, 8), m(8), m(8)], { ops: ["layer_norm_grad"] });
    await checkGrad((x, w) => rmsNorm(x, w), [m(2, 3, 8), m(8)], { ops: ["rms_norm_grad"] });
  });
  it("cross entropy", async () => {
    const targets = fromTypedArray(Int32Array.of(1, 0, 4, 2), [4], "int32");
    await checkGrad((logits) => crossEntropy(logits, targets).reshape([1]), [m(4, 5)]);
  });
  it("attention: causal, grouped-query", async () => {
    await checkGrad((q, k, v) => scaledDotProductAttention(q, k, v, { causal: true }), [m(1, 4, 5, 8), m(1, 2, 5, 8), m(1, 2, 5, 8)], { tol: 3e-5, ops: ["attention_grad"], onnxCounts: { Softmax: 1 } }); // the VJP reuses the forward's P
    await checkGrad((q, k, v) => scaledDotProductAttention(q, k, v, { causal: false }), [m(2, 2, 3, 4), m(2, 2, 6, 4), m(2, 2, 6, 4)], { tol: 3e-5 });
  });
});
