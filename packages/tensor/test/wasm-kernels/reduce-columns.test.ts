// Column reductions (the kept inner dim contiguous) on the wasm backend: 64-wide groups are
// accumulated in the output, narrower ones in registers, a ragged tail column by column; every
// column is reduced in row order, so the result is the float32 running sum / max / min exactly.
import { describe, expect, it } from "vitest";
import { Rng, WasmBackend, registerBackend, tidy, withBackend } from "@equigrad/tensor";

const backends = new Map<number, string>();
const wasm = (threads: number): string => {
  let name = backends.get(threads);
  if (!name) backends.set(threads, (name = `wasm-reduce-columns-${threads}t`)), registerBackend(name, () => new WasmBackend({ threads }));
  return name;
};

/** Column-wise running reduction of rows × cols in float32, rows in order. */
function naive(x: Float32Array, rows: number, cols: number, op: "sum" | "max" | "min"): number[] {
  return Array.from({ length: cols }, (_, c) => {
    let acc = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
    for (let r = 0; r < rows; r++) {
      const v = x[r * cols + c]!;
      acc = op === "sum" ? Math.fround(acc + v) : op === "max" ? Math.max(acc, v) : Math.min(acc, v);
    }
    return acc;
  });
}

describe("wasm column reductions", () => {
  for (const [outer, rows, cols] of [[1, 300, 192], [4, 97, 128], [2, 600, 1536], [3, 50, 100], [1, 33, 20]] as const) {
    for (const threads of [1, 2]) {
      it(`[${outer}, ${rows}, ${cols}] over the first two axes, ${threads} thread(s): exact running sums, max and min`, () => {
        withBackend(wasm(threads), () =>
          tidy(() => {
            const x = new Rng(cols).normal([outer, rows, cols]);
            const flat = Float32Array.from(x.toArray());
            for (const op of ["sum", "max", "min"] as const) {
              const got = (op === "sum" ? x.sum([0, 1]) : op === "max" ? x.max([0, 1]) : x.min([0, 1])).toArray();
              expect(Array.from(got)).toEqual(naive(flat, outer * rows, cols, op));
            }
          }),
        );
      });
    }
  }
});
