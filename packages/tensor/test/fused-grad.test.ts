import { describe, expect, it } from "vitest";
import { DECOMPOSITIONS, Rng, WasmBackend, currentBackendName, fused, profile, registerBackend, tensor, tidy, withBackend, type Tensor } from "@equigrad/tensor";

// The fused backward ops of the activations (gelu_grad, silu_grad) and the norms
// (layer_norm_grad, rms_norm_grad) against their decompositions, on the project's backend:
// the reference backend runs float64 kernels, the wasm backend its kernels for float32 operands
// contiguous along the last axis (anything else decomposes there).

const CALLS = [
  { op: "gelu_grad", approximate: "tanh" },
  { op: "gelu_grad", approximate: "none" },
  { op: "silu_grad" },
  { op: "layer_norm_grad", eps: 1e-5 },
  { op: "rms_norm_grad", eps: 1e-6 },
] as const;
type Call = (typeof CALLS)[number];

const decompose = (call: Call, x: Tensor, g: Tensor): Tensor =>
  (DECOMPOSITIONS[call.op] as (x: Tensor, c: Call, ...rest: Tensor[]) => Tensor)(x, call, g);

/** Whether fn ran the named primitive (rather than only its decomposition). */
function ran<T>(op: string, fn: () => T): [T, boolean] {
  const [out, table] = profile(fn);
  return [out, table.some((e) => e.op === op)];
}

function expectNear(got: Tensor, want: Tensor, tol: number, what: string): void {
  expect(got.shape).toEqual(want.shape);
  const g = got.toArray(), w = want.toArray();
  const scale = Math.max(1, ...w.map(Math.abs));
  let worst = 0, at = -1;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(g[i]! - w[i]!);
    if (!(e <= worst)) (worst = e), (at = i);
  }
  if (!(worst <= tol * scale)) expect.fail(`${what}: element ${at} is ${g[at]}, expected ${w[at]} (|error| ${worst} > ${tol} × ${scale})`);
}

const VIEWS: [string, number[], (t: Tensor) => Tensor, boolean][] = [
  ["[3,17]", [3, 17], (t) => t, true],
  ["[2,5,130]", [2, 5, 130], (t) => t, true],
  ["[7]", [7], (t) => t, true],
  ["[4,1]", [4, 1], (t) => t, true],
  ["[2,64,33] rows of a slice", [2, 64, 33], (t) => t.slice(null, [0, 40]), true],
  ["transposed [17,3]", [17, 3], (t) => t.transpose(), false],
  ["stepped slice [5,34]", [5, 34], (t) => t.slice(null, [0, undefined, 2]), false],
];

describe("fused backward ops match their decompositions", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, shape, view, contiguous] of VIEWS) {
      it(`${dtype} ${name}`, () => {
        tidy(() => {
          const r = new Rng(21);
          const x = view(r.normal(shape, 0, 2.5, dtype));
          const g = view(r.normal(shape, 0, 1, dtype));
          for (const call of CALLS) {
            const [got, didFuse] = ran(call.op, () => fused(call, x, g));
            const want = decompose(call, x, g);
            expectNear(got, want, dtype === "float32" ? 3e-6 : 1e-12, `${call.op} ${JSON.stringify(call)}`);
            // The reference backend fuses everything; wasm only float32 with a contiguous last axis.
            const expectFused = currentBackendName() === "reference" || (dtype === "float32" && contiguous);
            expect(didFuse, `${call.op} fused`).toBe(expectFused);
          }
        });
      });
    }
  }

  it("x and g with different outer strides (rows still contiguous)", () => {
    tidy(() => {
      const r = new Rng(5);
      const x = r.normal([4, 6, 37], 0, 2).slice(null, [1, 5]);
      const g = r.normal([4, 4, 37]);
      for (const call of CALLS) {
        const [got, didFuse] = ran(call.op, () => fused(call, x, g));
        expectNear(got, decompose(call, x, g), 3e-6, call.op);
        expect(didFuse).toBe(true);
      }
    });
  });

  it("extreme values: tails of the activations, a constant row of the norms", () => {
    tidy(() => {
      const vals = [-30, -12, -9.5, -5, -1e-3, 0, 1e-3, 5, 9.5, 12, 30];
      const x = tensor([vals, vals.map((v) => v * 0.37), vals.map(() => 3)]);
      const g = new Rng(2).normal([3, vals.length]);
      for (const call of CALLS) expectNear(fused(call, x, g), decompose(call, x, g), 3e-6, call.op);
    });
  });
});

// One wasm backend per thread count, registered under its own name.
const backends = new Map<number, string>();
function wasmWith(threads: number): string {
  let name = backends.get(threads);
  if (!name) {
    name = `wasm-fused-grad-${threads}t`;
    const b = new WasmBackend({ threads });
    registerBackend(name, () => b);
    backends.set(threads, name);
  }
  return name;
}

describe("fused backward kernels: 1 and 2 threads are bit-identical on wasm", () => {
  const run = (): number[][] =>
    tidy(() => {
      const r = new Rng(33);
      // Big enough to be split across threads: 66k elements, 300 rows of 130.
      const xe = r.normal([64, 1031], 0, 3), ge = r.normal([64, 1031]);
      const xr = r.normal([300, 130], 0, 3), gr = r.normal([300, 130]);
      return CALLS.map((call) => {
        const [x, g] = call.op === "layer_norm_grad" || call.op === "rms_norm_grad" ? [xr, gr] : [xe, ge];
        const [out, didFuse] = ran(call.op, () => fused(call, x, g));
        expect(didFuse).toBe(true);
        return Array.from(out.toArray());
      });
    });
  it("gelu_grad, silu_grad, layer_norm_grad, rms_norm_grad", () => {
    const one = withBackend(wasmWith(1), run);
    const two = withBackend(wasmWith(2), run);
    one.forEach((a, i) => {
      const b = two[i]!;
      expect(a.length).toBe(b.length);
      const diff = a.findIndex((v, j) => !Object.is(v, b[j]));
      expect(diff, `${CALLS[i]!.op} differs at ${diff}`).toBe(-1);
    });
  });
});

describe("wasm gelu_grad (tanh) against the float64 derivative", () => {
  it("absolute error <= 3e-7 on [-15, 15], relative <= 3e-5 in the tails (|x| >= 2, float32 normal results)", () => {
    const n = 60_001;
    const xs = Float32Array.from({ length: n }, (_, i) => -15 + (30 * i) / (n - 1));
    const got = withBackend(wasmWith(1), () =>
      tidy(() => fused({ op: "gelu_grad", approximate: "tanh" }, tensor(Array.from(xs)), tensor(Array.from(xs, () => 1))).toArray()),
    );
    const a = 2 * Math.sqrt(2 / Math.PI), b = a * 0.044715;
    for (let i = 0; i < n; i++) {
      const x = xs[i]!;
      const s = 1 / (1 + Math.exp(-x * (a + b * x * x)));
      const want = s + x * (a + 3 * b * x * x) * s * (1 - s);
      const err = Math.abs(got[i]! - want);
      if (!(err <= 3e-7)) expect.fail(`x = ${x}: ${got[i]} vs ${want}`);
      if (Math.abs(x) >= 2 && Math.abs(want) >= 1e-30 && !(err <= 3e-5 * Math.abs(want))) expect.fail(`x = ${x}: relative error ${err / Math.abs(want)}`);
    }
  });
});
