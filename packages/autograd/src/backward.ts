import type { Tensor } from "@equigrad/tensor";
import { ruleFor } from "./rules/index.js";
import type { Tape } from "./tape.js";

/**
 * Reverse sweep over a tape: cotangents flow from `output` (seeded with `seed`) to every
 * node input; uses of one tensor in several places add up.
 */
export function backward(tape: Tape, output: Tensor, seed: Tensor): Map<number, Tensor> {
  // Keyed by value id: aliases of one value share a cotangent.
  const grads = new Map<number, Tensor>([[output.id, seed]]);
  for (let n = tape.nodes.length - 1; n >= 0; n--) {
    const node = tape.nodes[n]!;
    const g = grads.get(node.output.id);
    if (!g) continue;
    const cts = ruleFor(node.call.op)(g, node);
    node.inputs.forEach((input, i) => {
      const ct = cts[i];
      if (!ct || !tape.isTracked(input)) return;
      const prev = grads.get(input.id);
      grads.set(input.id, prev ? prev.add(ct) : ct);
    });
  }
  return grads;
}
