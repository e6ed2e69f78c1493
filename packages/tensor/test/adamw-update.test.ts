import { describe, expect, it } from "vitest";
import { DECOMPOSITIONS, Rng, WasmBackend, adamwUpdate, currentBackendName, profile, registerBackend, tidy, withBackend, type Tensor } from "@equigrad/tensor";

// The fused AdamW update against its decomposition (which defines it) and against a float64
// transcription of torch's AdamW step. On wasm, float32 contiguous operands run the kernel,
// which must equal the op-by-op decomposition bit for bit (same float32 ops in the same order);
// on the reference backend the decomposition itself runs.

type Scalars = { beta1: number; beta2: number; eps: number; stepSize: number; bc2Sqrt: number; decay: number };
const SCALARS: [string, Scalars][] = [
  ["step 1, decay", { beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 1e-3 / (1 - 0.9), bc2Sqrt: Math.sqrt(1 - 0.95), decay: 1e-3 * 0.1 }],
  ["step 7, no decay", { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 3e-3 / (1 - 0.9 ** 7), bc2Sqrt: Math.sqrt(1 - 0.999 ** 7), decay: 0 }],
  ["beta1 < 0.5 (other lerp form)", { beta1: 0.3, beta2: 0.9, eps: 1e-6, stepSize: 0.01, bc2Sqrt: 0.5, decay: 0.02 }],
];

const decompose = (p: Tensor, g: Tensor, m: Tensor, v: Tensor, s: Scalars): Tensor =>
  DECOMPOSITIONS.adamw_update(p, { op: "adamw_update", ...s }, g, m, v);

function operands(n: number[], seed: number, dtype: "float32" | "float64" = "float32"): [Tensor, Tensor, Tensor, Tensor] {
  const r = new Rng(seed);
  return [r.normal(n, 0, 1, dtype), r.normal(n, 0, 0.1, dtype), r.normal(n, 0, 0.01, dtype), r.uniform(n, 0, 1e-3, dtype)];
}

/** torch.optim.AdamW's step in float64 for one element. */
function torchStep(p: number, g: number, m: number, v: number, s: Scalars): [number, number, number] {
  const w = 1 - s.beta1;
  const m1 = Math.abs(w) < 0.5 ? m + w * (g - m) : g - (g - m) * (1 - w);
  const v1 = s.beta2 * v + (1 - s.beta2) * g * g;
  const u = -s.stepSize * (m1 / (Math.sqrt(v1) / s.bc2Sqrt + s.eps)) - s.decay * p;
  return [m1, v1, u];
}

describe(`adamw_update on ${currentBackendName()}`, () => {
  for (const [name, s] of SCALARS) {
    for (const shape of [[3, 5], [1031], [2, 40000], []]) {
      it(`${name}, shape [${shape}]: equals the decomposition exactly`, () => {
        tidy(() => {
          const [p, g, m, v] = operands(shape, shape.length + 3);
          const [got, table] = profile(() => adamwUpdate(p, g, m, v, s));
          const want = decompose(p, g, m, v, s);
          const packed = [got.m, got.v, got.update].flatMap((t) => t.toArray());
          expect(packed).toEqual(want.toArray());
          expect(got.update.shape).toEqual(shape);
          // The wasm backend fuses contiguous float32 operands; the reference decomposes.
          expect(table.some((e) => e.op === "adamw_update")).toBe(currentBackendName() === "wasm");
        });
      });
    }

    it(`${name}: float64 matches torch's AdamW step to 1e-15`, () => {
      tidy(() => {
        const [p, g, m, v] = operands([4, 9], 5, "float64");
        const got = adamwUpdate(p, g, m, v, s);
        const [P, G, M, V] = [p, g, m, v].map((t) => t.toArray());
        const [gm, gv, gu] = [got.m, got.v, got.update].map((t) => t.toArray());
        for (let i = 0; i < P!.length; i++) {
          const [m1, v1, u] = torchStep(P![i]!, G![i]!, M![i]!, V![i]!, s);
          expect(Math.abs(gm![i]! - m1)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(m1)));
          expect(Math.abs(gv![i]! - v1)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(v1)));
          expect(Math.abs(gu![i]! - u)).toBeLessThanOrEqual(1e-14 * Math.max(1e-3, Math.abs(u)));
        }
      });
    });
  }

  it("non-contiguous operands (transposed gradients) are copied, fused on wasm, and agree", () => {
    tidy(() => {
      const [p, g, m, v] = operands([6, 10], 9).map((t) => t.transpose()) as [Tensor, Tensor, Tensor, Tensor];
      const s = SCALARS[0]![1];
      const [got, table] = profile(() => adamwUpdate(p, g, m, v, s));
      expect(table.some((e) => e.op === "adamw_update")).toBe(currentBackendName() === "wasm");
      expect([got.m, got.v, got.update].flatMap((t) => t.toArray())).toEqual(decompose(p, g, m, v, s).toArray());
    });
  });

  it("rejects operands of different shapes, naming them", () => {
    tidy(() => {
      const [p, g, m] = operands([3, 4], 1);
      expect(() => adamwUpdate(p, g, m, new Rng(0).normal([4, 3]), SCALARS[0]![1])).toThrow(/adamw_update.*one shape.*\[4, 3\]/);
    });
  });
});

describe("adamw_update kernel: 1 and 2 threads agree bit for bit", () => {
  it("a 200k-element update splits across threads identically", () => {
    const runs = [1, 2].map((threads) => {
      const name = `adamw-threads-${threads}`;
      registerBackend(name, () => new WasmBackend({ threads }));
      return withBackend(name, () => tidy(() => {
        const [p, g, m, v] = operands([200_003], 11);
        const r = adamwUpdate(p, g, m, v, SCALARS[0]![1]);
        return [r.m, r.v, r.update].flatMap((t) => t.toArray());
      }));
    });
    expect(runs[0]).toEqual(runs[1]);
  });
});
