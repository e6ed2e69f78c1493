import type { Tensor } from "@equigrad/tensor";
import { transposeLast } from "./matrix.js";

/**
 * Which axis of a parameter holds the symmetry's permuted units (neurons, tokens, experts):
 * - row: rows as stored ([d_ff, d] gate/up, [V, d] embedding, [E, d] router);
 * - col: the columns ([d, d_ff] down), so the rule works on the transpose;
 * - gpt_oss_gate_up_pair: [..., d, 2r] with gate = columns 0::2, up = 1::2 → [..., r, 2d],
 *   row j = [gate[:, j], up[:, j]];
 * - olmoe_gate_up_pair: [..., 2r, d] with gate = rows :r, up = rows r: → [..., r, 2d],
 *   row j = [gate_j, up_j].
 */
export type Orientation = "row" | "col" | "gpt_oss_gate_up_pair" | "olmoe_gate_up_pair";

export const ORIENTATIONS: readonly Orientation[] = ["row", "col", "gpt_oss_gate_up_pair", "olmoe_gate_up_pair"];

const lead = (s: readonly number[]): number[] => s.slice(0, -2);
const perm = (batch: number, tail: number[]): number[] => [...Array(batch).keys(), ...tail.map((t) => t + batch)];

function checkPair(who: string, x: Tensor, orientation: Orientation, axis: -1 | -2): void {
  if (x.ndim < 2) throw new Error(`${who}: orientation '${orientation}' needs a matrix or a batch of matrices, got shape [${x.shape.join(", ")}]`);
  const n = x.shape[x.ndim + axis]!;
  if (n % 2 !== 0) throw new Error(`${who}: orientation '${orientation}' needs an even ${axis === -1 ? "column" : "row"} count (gate and up halves), got shape [${x.shape.join(", ")}]`);
}

/** The matrix (or batch) whose rows are the units. Pure data movement, so unorient is exact. */
export function orient(x: Tensor, orientation: Orientation): Tensor {
  const b = x.ndim - 2;
  switch (orientation) {
    case "row":
      return x;
    case "col":
      return transposeLast(x);
    case "gpt_oss_gate_up_pair": {
      checkPair("orient", x, orientation, -1);
      const [d, r2] = x.shape.slice(-2) as [number, number];
      // [..., d, r, 2] → [..., r, 2, d] → [..., r, 2d]
      return x.reshape([...lead(x.shape), d, r2 / 2, 2]).permute(perm(b, [1, 2, 0])).reshape([...lead(x.shape), r2 / 2, 2 * d]);
    }
    case "olmoe_gate_up_pair": {
      checkPair("orient", x, orientation, -2);
      const [r2, d] = x.shape.slice(-2) as [number, number];
      // [..., 2, r, d] → [..., r, 2, d] → [..., r, 2d]
      return x.reshape([...lead(x.shape), 2, r2 / 2, d]).permute(perm(b, [1, 0, 2])).reshape([...lead(x.shape), r2 / 2, 2 * d]);
    }
    default:
      throw new Error(`orient: unknown orientation '${String(orientation)}'; use ${ORIENTATIONS.map((o) => `"${o}"`).join(", ")}`);
  }
}

/** The inverse of `orient` back to the parameter's `shape`. */
export function unorient(u: Tensor, orientation: Orientation, shape: readonly number[]): Tensor {
  const b = shape.length - 2;
  let out: Tensor;
  switch (orientation) {
    case "row":
      out = u;
      break;
    case "col":
      out = transposeLast(u);
      break;
    case "gpt_oss_gate_up_pair": {
      const [d, r2] = shape.slice(-2) as [number, number];
      out = u.reshape([...lead(shape), r2 / 2, 2, d]).permute(perm(b, [2, 0, 1])).reshape([...shape]);
      break;
    }
    case "olmoe_gate_up_pair": {
      const [r2, d] = shape.slice(-2) as [number, number];
      out = u.reshape([...lead(shape), r2 / 2, 2, d]).permute(perm(b, [1, 0, 2])).reshape([...shape]);
      break;
    }
    default:
      throw new Error(`unorient: unknown orientation '${String(orientation)}'; use ${ORIENTATIONS.map((o) => `"${o}"`).join(", ")}`);
  }
  if (out.shape.length !== shape.length || out.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`unorient: '${orientation}' gives shape [${out.shape.join(", ")}], expected [${shape.join(", ")}]`);
  }
  return out;
}
