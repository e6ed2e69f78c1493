import { concat, zeros, type Tensor } from "@equigrad/tensor";
import { ruleFor } from "./rules/index.js";
import type { Node, Tape } from "./tape.js";

/** The cotangent of a slice along one axis, kept apart until its input's cotangent is needed. */
interface Piece {
  readonly node: Node;
  readonly axis: number;
  readonly start: number;
  readonly g: Tensor;
}

/**
 * Reverse sweep over a tape: cotangents flow from `output` (seeded with `seed`) to every
 * node input; uses of one tensor in several places add up.
 *
 * The slices of one tensor along one axis (a fused QKV projection split into q, k and v; the
 * experts of a [E, ·, ·] weight; the halves RoPE rotates) hand back their cotangents as pieces,
 * joined by one concat (zeros in any gap) when their input's cotangent is needed, instead of
 * each being padded to the input's full shape and the pads added.
 */
export function backward(tape: Tape, output: Tensor, seed: Tensor): Map<number, Tensor> {
  // Keyed by value id: aliases of one value share a cotangent.
  const grads = new Map<number, Tensor>([[output.id, seed]]);
  const pieces = new Map<number, Piece[]>();
  const cotangent = (id: number): Tensor | undefined => {
    const ps = pieces.get(id);
    if (!ps) return grads.get(id);
    pieces.delete(id);
    const joined = join(ps);
    const prev = grads.get(id);
    const g = prev ? prev.add(joined) : joined;
    grads.set(id, g);
    return g;
  };
  for (let n = tape.nodes.length - 1; n >= 0; n--) {
    const node = tape.nodes[n]!;
    const g = cotangent(node.output.id);
    if (!g) continue;
    const piece = sliceAxis(node, g);
    if (piece) {
      const x = node.inputs[0]!;
      if (tape.isTracked(x)) pieces.set(x.id, [...(pieces.get(x.id) ?? []), piece]);
      continue;
    }
    const cts = ruleFor(node.call.op)(g, node);
    node.inputs.forEach((input, i) => {
      const ct = cts[i];
      if (!ct || !tape.isTracked(input)) return;
      const prev = grads.get(input.id);
      grads.set(input.id, prev ? prev.add(ct) : ct);
    });
  }
  for (const id of [...pieces.keys()]) cotangent(id);
  return grads;
}

/** A slice with unit steps that cuts one axis only, as a piece of its input's cotangent. */
function sliceAxis(node: Node, g: Tensor): Piece | null {
  if (node.call.op !== "slice") return null;
  const x = node.inputs[0]!;
  const { starts, steps } = node.call;
  let axis = -1;
  for (let d = 0; d < x.ndim; d++) {
    if (steps[d] !== 1) return null;
    if (starts[d] === 0 && g.shape[d] === x.shape[d]) continue;
    if (axis >= 0) return null;
    axis = d;
  }
  return axis < 0 ? null : { node, axis, start: starts[axis]!, g };
}

/** One concat along the pieces' axis, zeros in the gaps; overlapping pieces are padded and added. */
function join(ps: readonly Piece[]): Tensor {
  const shape = ps[0]!.node.inputs[0]!.shape;
  const axis = ps[0]!.axis;
  const sorted = [...ps].sort((a, b) => a.start - b.start);
  const parts: Tensor[] = [];
  let at = 0;
  const gap = (len: number) => parts.push(zeros(shape.map((d, i) => (i === axis ? len : d)), { dtype: ps[0]!.g.dtype }));
  for (const p of sorted) {
    if (p.axis !== axis || p.start < at) return ps.map((q) => ruleFor("slice")(q.g, q.node)[0]!).reduce((a, b) => a.add(b));
    if (p.start > at) gap(p.start - at);
    parts.push(p.g);
    at = p.start + p.g.shape[axis]!;
  }
  if (at < shape[axis]!) gap(shape[axis]! - at);
  return parts.length === 1 ? parts[0]! : concat(parts, axis);
}
