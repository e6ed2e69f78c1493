import type { TypedArray } from "../core/dtype.js";
import { fmtShape } from "../core/errors.js";
import { apply, applyFused } from "../dispatch.js";
import { tidy } from "../memory/scope.js";
import { fromTypedArray } from "../ops/creation.js";
import { kindOf } from "../ops/primitives.js";
import { DECOMPOSITIONS } from "../composite/fused.js";
import { Tensor } from "../tensor.js";
import type { Graph } from "./ir.js";

/**
 * Runs a graph eagerly, node by node, on the current backend: the meaning of a graph, and the
 * oracle that tests the tracer (a trace evaluated this way equals the function run eagerly)
 * and any lowering of it, independently of ONNX Runtime.
 */
export function evaluateGraph(g: Graph, feeds: Record<string, Tensor | TypedArray | BigInt64Array>): Record<string, Tensor> {
  return tidy(() => {
    const env = new Map<number, Tensor>();
    for (const p of g.inputs) {
      const f = feeds[p.name];
      const info = g.values[p.value]!;
      if (f === undefined) throw new Error(`evaluateGraph: no feed for input '${p.name}' (${fmtShape(info.shape)} ${info.dtype})`);
      if (f instanceof BigInt64Array) throw new Error(`evaluateGraph: input '${p.name}' is ${info.dtype}, got int64 data`);
      env.set(p.value, f instanceof Tensor ? f : fromTypedArray(f, info.shape, info.dtype));
    }
    // Random nodes whose counter is fed (a compiled step's lifted counters), as int64.
    const counters = g.counters ? feeds[g.counters.input] : undefined;
    if (g.counters && !(counters instanceof BigInt64Array && counters.length === g.counters.size)) {
      throw new Error(`evaluateGraph: input '${g.counters.input}' must be a BigInt64Array of ${g.counters.size} random counters`);
    }
    for (const c of g.constants) env.set(c.value, fromTypedArray(c.data, g.values[c.value]!.shape, g.values[c.value]!.dtype));
    for (const n of g.nodes) {
      const xs = n.inputs.map((i) => env.get(i)!);
      const decompose = DECOMPOSITIONS[n.call.op as keyof typeof DECOMPOSITIONS] as ((x: Tensor, call: unknown, ...rest: Tensor[]) => Tensor) | undefined;
      const call = n.counterAt !== undefined && n.call.op === "random" ? { ...n.call, counter: Number((counters as BigInt64Array)[n.counterAt]) } : n.call;
      const out = kindOf(call.op) === "fused" && decompose ? applyFused(call, xs, () => decompose(xs[0]!, call, ...xs.slice(1))) : apply(call, xs);
      env.set(n.output, out);
    }
    return Object.fromEntries(g.outputs.map((o) => [o.name, env.get(o.value)!]));
  });
}
