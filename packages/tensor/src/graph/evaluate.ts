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
export function evaluateGraph(g: Graph, feeds: Record<string, Tensor | TypedArray>): Record<string, Tensor> {
  return tidy(() => {
    const env = new Map<number, Tensor>();
    for (const p of g.inputs) {
      const f = feeds[p.name];
      const info = g.values[p.value]!;
      if (f === undefined) throw new Error(`evaluateGraph: no feed for input '${p.name}' (${fmtShape(info.shape)} ${info.dtype})`);
      env.set(p.value, f instanceof Tensor ? f : fromTypedArray(f, info.shape, info.dtype));
    }
    for (const c of g.constants) env.set(c.value, fromTypedArray(c.data, g.values[c.value]!.shape, g.values[c.value]!.dtype));
    for (const n of g.nodes) {
      const xs = n.inputs.map((i) => env.get(i)!);
      const decompose = DECOMPOSITIONS[n.call.op as keyof typeof DECOMPOSITIONS] as ((x: Tensor, call: unknown, ...rest: Tensor[]) => Tensor) | undefined;
      const out = kindOf(n.call.op) === "fused" && decompose ? applyFused(n.call, xs, () => decompose(xs[0]!, n.call, ...xs.slice(1))) : apply(n.call, xs);
      env.set(n.output, out);
    }
    return Object.fromEntries(g.outputs.map((o) => [o.name, env.get(o.value)!]));
  });
}
