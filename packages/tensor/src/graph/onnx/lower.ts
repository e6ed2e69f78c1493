/**
 * Lowering of the graph IR (graph/ir.ts) to ONNX (default opset 21, IR version 10).
 *
 * API, from low to high level:
 * - `lowerInto(builder, graph, inputName?)` writes the graph's constants and nodes into a
 *   `GraphBuilder` (builder.ts) and returns the ONNX name of every IR value; it adds no graph
 *   inputs or outputs, so the caller decides what they are. Graph inputs are referenced as
 *   `inputName(port)` (default: the port's name) — inside a Loop body that may be a body input,
 *   a Gather of a per-step outer tensor, or an outer-scope name. Pass a builder with a name
 *   prefix for nested graphs.
 * - `lowerGraph(graph, name?)` → GraphP: a standalone graph whose inputs and outputs are the IR
 *   graph's ports, by name (outputs through Identity nodes, which ORT removes).
 * - `lowerToOnnx(graph, { opset, name })` → ModelProto bytes, ready for an ORT session.
 * - K steps per call: `loopModel` (graph/loop-step.ts, with compile) builds an ONNX Loop whose
 *   body is `lowerInto` on a builder with prefix "body_": carried inputs are body inputs, per-step
 *   inputs are `Gather(outer [K, ...] input, iteration)`, outer-scope names need nothing.
 *
 * Choices that let ORT fuse and avoid copies: elementwise ops broadcast natively (no Expand is
 * inserted); permutes stay Transposes that ORT folds into (Fused)MatMul, and a matmul whose
 * result is only transposed is lowered as Bᵀ Aᵀ (no output transpose pass); softmax,
 * log_softmax, layer_norm and rms_norm (float32) are Softmax/LogSoftmax/LayerNormalization and
 * ORT's SimplifiedLayerNormalization kernels;
 * constants are initializers (large fills ConstantOfShape); attention's VJP reuses the forward's
 * probabilities. Unsupported (op, dtype) pairs fail here, naming the op, shapes and dtypes.
 */
import { OpError, fmtShape } from "../../core/errors.js";
import { infer, kindOf, type Meta, type PrimitiveCall } from "../../ops/primitives.js";
import type { Graph, GraphNode, Port } from "../ir.js";
import { ONNX_TYPE, encodeModel, type GraphP, type ModelP, type ValueInfoP } from "./proto.js";
import { attr, GraphBuilder, onnxType, type Val } from "./builder.js";
import { lowerElementwise } from "./elementwise.js";
import { lowerArgReduce, lowerCumsum, lowerReduce } from "./reduce.js";
import { lowerConcat, lowerExpand, lowerGather, lowerMatmul, lowerPad, lowerPermute, lowerReshape, lowerScatterAdd, lowerSlice } from "./shape.js";
import { lowerArange, lowerConstant, lowerFull } from "./sources.js";
import { lowerRandom } from "./random.js";
import { lowerActivationGrad, lowerAdamW, lowerNormGrad, lowerRowFused } from "./fused.js";
import { lowerAttention, lowerAttentionGrad } from "./attention.js";

export const DEFAULT_OPSET = 21;
/** IR version 10 goes with opset 21 (ONNX 1.16); ORT 1.31 reads it. */
export const IR_VERSION = 10;

const describe = (call: PrimitiveCall, ins: readonly Meta[]) => `${call.op}(${ins.map((m) => `${fmtShape(m.shape)} ${m.dtype}`).join(", ")})`;

/**
 * Lowers one primitive; returns the ONNX name of its output (`out` when the op names it).
 * `counter`: a random op's counter as the name of an int64 scalar (a lifted, per-step one).
 */
export function lowerCall(b: GraphBuilder, call: PrimitiveCall, ins: readonly Val[], outMeta: Meta, out?: string, counter?: string): string {
  const [x, y, z] = ins;
  switch (call.op) {
    case "sum": case "max": case "min":
      return lowerReduce(b, call, x!, out);
    case "argmax": case "argmin":
      return lowerArgReduce(b, call, x!, out);
    case "cumsum":
      return lowerCumsum(b, call, x!, out);
    case "matmul":
      return lowerMatmul(b, x!, y!, out);
    case "concat":
      return lowerConcat(b, ins, call.axis, out);
    case "gather":
      return lowerGather(b, x!, y!, call.axis, out);
    case "scatter_add":
      return lowerScatterAdd(b, x!, y!, z!, call.axis, out);
    case "pad":
      return lowerPad(b, x!, call.pads, out);
    case "constant":
      return lowerConstant(b, call, out);
    case "full":
      return lowerFull(b, call, out);
    case "arange":
      return lowerArange(b, call, out);
    case "random":
      return lowerRandom(b, call, out, counter);
    case "reshape":
      return lowerReshape(b, x!, call.shape, out);
    case "permute":
      return lowerPermute(b, x!, call.perm, out);
    case "expand":
      return lowerExpand(b, x!, call.shape, out);
    case "slice":
      return lowerSlice(b, x!, call, out);
    case "softmax": case "log_softmax": case "layer_norm": case "rms_norm":
      return lowerRowFused(b, call, x!, out);
    case "gelu_grad": case "silu_grad":
      return lowerActivationGrad(b, call, x!, y!, out);
    case "layer_norm_grad": case "rms_norm_grad":
      return lowerNormGrad(b, call, x!, y!, out);
    case "attention":
      return lowerAttention(b, call, x!, y!, z!, out);
    case "attention_grad":
      return lowerAttentionGrad(b, call, ins, out);
    case "adamw_update":
      return lowerAdamW(b, call, ins, out);
  }
  const kind = kindOf(call.op);
  if (kind === "unary" || kind === "binary" || call.op === "stop_gradient") return lowerElementwise(b, call, ins, outMeta, out);
  throw new OpError(call.op, `has no ONNX lowering: ${describe(call, ins)}`);
}

/** Re-derives a node's output from its inputs, so a malformed graph fails here, naming the node. */
function checkNode(graph: Graph, node: GraphNode, index: number): void {
  const ins = node.inputs.map((id) => graph.values[id]!);
  const want = graph.values[node.output]!;
  let got: Meta;
  try {
    got = infer(node.call, ins);
  } catch (e) {
    throw new OpError(node.call.op, `node ${index} is invalid: ${(e as Error).message}`);
  }
  if (got.dtype !== want.dtype || got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    throw new OpError(node.call.op, `node ${index}: ${describe(node.call, ins)} gives ${fmtShape(got.shape)} ${got.dtype}, but the graph records ${fmtShape(want.shape)} ${want.dtype}`);
  }
}

/**
 * Writes `graph`'s constants and nodes into `b`. Returns the ONNX name of each IR value id
 * that was lowered. Graph inputs are read from `inputName(port)`; so is the graph's int64
 * `counters` input (a port with value -1: it is no IR value), when it has one.
 */
export function lowerInto(b: GraphBuilder, graph: Graph, inputName: (port: Port) => string = (p) => p.name): Map<number, string> {
  const names = new Map<number, string>();
  const val = (id: number): Val => {
    const name = names.get(id);
    if (name === undefined) throw new Error(`graph value ${id} is used before it is defined (not an input, constant or earlier node output)`);
    return { ...graph.values[id]!, name };
  };
  for (const p of graph.inputs) names.set(p.value, inputName(p));
  const counters = graph.counters ? inputName({ name: graph.counters.input, value: -1 }) : undefined;
  // A lifted random counter: element counterAt of the counters vector, an int64 scalar.
  const counterOf = (node: GraphNode): string | undefined => {
    if (node.counterAt === undefined) return undefined;
    if (counters === undefined || node.call.op !== "random") throw new Error(`graph node ${node.call.op} reads counter ${node.counterAt}, but the graph has no counters input or the node is no random op`);
    return b.op("Gather", [counters, b.i64Scalar(node.counterAt)], [attr.int("axis", 0)]);
  };
  for (const c of graph.constants) {
    const m = graph.values[c.value]!;
    names.set(c.value, lowerConstant(b, { op: "constant", data: c.data, shape: m.shape, dtype: m.dtype }));
  }
  const swapped = transposedMatmuls(graph);
  graph.nodes.forEach((node, i) => {
    checkNode(graph, node, i);
    if (swapped.skip.has(i)) return; // a permute its matmul already produced
    const ins = node.inputs.map(val);
    const outMeta = graph.values[node.output]!;
    const permute = swapped.matmuls.get(i);
    if (permute !== undefined) {
      // (A B)ᵀ = Bᵀ Aᵀ: ORT folds input transposes into FusedMatMul (or cancels them against a
      // producer's), where a transposed output would be a separate pass.
      const [a, c] = ins as [Val, Val];
      const t = (v: Val) => b.op("Transpose", [v.name], [attr.ints("perm", swapLast(v.shape.length))]);
      names.set(permute, b.op("MatMul", [t(c), t(a)], [], `${b.prefix}v${permute}`));
      return;
    }
    const source = kindOf(node.call.op) === "source";
    names.set(node.output, lowerCall(b, node.call, ins, outMeta, source ? undefined : `${b.prefix}v${node.output}`, counterOf(node)));
  });
  return names;
}

const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

/**
 * Matmuls whose only use is a permute swapping the last two axes (weight gradients come out
 * as (xᵀ g)ᵀ): node index of the matmul → the permute's output value, and the permutes to skip.
 */
function transposedMatmuls(graph: Graph): { matmuls: Map<number, number>; skip: Set<number> } {
  const uses = new Map<number, number[]>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((v) => uses.set(v, [...(uses.get(v) ?? []), i])));
  const outputs = new Set(graph.outputs.map((p) => p.value));
  const matmuls = new Map<number, number>();
  const skip = new Set<number>();
  graph.nodes.forEach((n, i) => {
    if (n.call.op !== "matmul" || outputs.has(n.output)) return;
    const users = uses.get(n.output) ?? [];
    if (users.length !== 1) return;
    const user = graph.nodes[users[0]!]!;
    const rank = graph.values[n.output]!.shape.length;
    if (user.call.op !== "permute" || user.call.perm.join() !== swapLast(rank).join()) return;
    matmuls.set(i, user.output);
    skip.add(users[0]!);
  });
  return { matmuls, skip };
}

export const valueInfo = (name: string, m: Meta): ValueInfoP => ({ name, elemType: onnxType(m.dtype), shape: m.shape });

function checkPortNames(graph: Graph): void {
  const seen = new Set<string>();
  for (const p of [...graph.inputs, ...graph.outputs]) {
    if (seen.has(p.name)) throw new Error(`graph port name '${p.name}' is used twice: ONNX needs distinct input and output names`);
    seen.add(p.name);
  }
}

/** A standalone GraphProto: inputs and outputs are the IR graph's ports, by name. */
export function lowerGraph(graph: Graph, name = "equigrad"): GraphP {
  checkPortNames(graph);
  const b = new GraphBuilder();
  const names = lowerInto(b, graph);
  for (const p of graph.inputs) b.inputs.push(valueInfo(p.name, graph.values[p.value]!));
  if (graph.counters) b.inputs.push({ name: graph.counters.input, elemType: ONNX_TYPE.int64, shape: [graph.counters.size] });
  for (const p of graph.outputs) {
    b.op("Identity", [names.get(p.value)!], [], p.name);
    b.outputs.push(valueInfo(p.name, graph.values[p.value]!));
  }
  return b.graph(name);
}

export interface LowerOptions {
  readonly opset?: number;
  readonly name?: string;
}

export function modelOf(graph: GraphP, opset = DEFAULT_OPSET): ModelP {
  if (opset < DEFAULT_OPSET) throw new RangeError(`opset ${opset} is too old: the lowering uses opset ${DEFAULT_OPSET} operators (ReduceMax axes inputs, Gelu, bitwise ops)`);
  return { irVersion: IR_VERSION, opsets: [{ domain: "", version: opset }], producerName: "equigrad", producerVersion: "0.1.0", graph };
}

/** The ONNX model (ModelProto bytes) computing `graph`. */
export function lowerToOnnx(graph: Graph, opts: LowerOptions = {}): Uint8Array {
  return encodeModel(modelOf(lowerGraph(graph, opts.name), opts.opset));
}
