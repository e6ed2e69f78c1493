import { describe, expect, it } from "vitest";
import { LION_DEFAULTS, lion, partition, slotsOf, type PerParamState } from "@equigrad/optim";
import { expectClose, param } from "./helpers.js";
import { noise, run } from "./extra-run.js";

/** lion_pytorch.py by hand in float64. */
function handLion(p0: number[], grads: number[][], o: { lr: number; b1: number; b2: number; wd: number }) {
  const p = [...p0];
  const m = p.map(() => 0);
  for (const g of grads) {
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i]! * (1 - o.lr * o.wd);
      const c = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
      p[i] = p[i]! - o.lr * Math.sign(c);
      m[i] = o.b2 * m[i]! + (1 - o.b2) * g[i]!;
    }
  }
  return { p, m };
}

describe("lion (float64)", () => {
  it("matches the formula by hand over 6 steps, with decay", () => {
    const p0 = noise(6, 1);
    const gs = [0, 1, 2, 3, 4, 5].map((t) => noise(6, 10 + t));
    const want = handLion(p0, gs, { lr: 0.01, b1: 0.9, b2: 0.99, wd: 0.3 });
    const { params, state } = run(lion({ lr: 0.01, weightDecay: 0.3 }), [param("w", "mlp.up", p0, [2, 3])], gs.map((g) => ({ w: g })));
    expectClose(params[0]!.value, want.p);
    expectClose(slotsOf("lion", state, "w").exp_avg!, want.m);
    expect(state.count).toBe(6);
  });

  it("T21: |Δθ + γλθ| == γ wherever c ≠ 0, and 0 where c = 0", () => {
    const lr = 0.003;
    const wd = 0.5;
    const p0 = noise(8, 2);
    // Entry 3 gets a zero gradient at step 1 and m = 0, so c = 0 there.
    const g1 = noise(8, 3).map((x, i) => (i === 3 ? 0 : x));
    const opt = lion({ lr, weightDecay: wd, betas: [0.9, 0.99] });
    const { updates } = run(opt, [param("w", "embed", p0, [2, 4])], [{ w: g1 }]);
    updates[0]!.w!.forEach((u, i) => {
      const r = Math.abs(u + lr * wd * p0[i]!);
      if (i === 3) expect(r).toBeLessThan(1e-18);
      else expect(Math.abs(r - lr)).toBeLessThanOrEqual(1e-15 * lr);
    });
    // Negative control: without removing the decay the magnitudes are not lr.
    const off = updates[0]!.w!.filter((u, i) => i !== 3 && Math.abs(Math.abs(u) - lr) > 1e-6 * lr);
    expect(off.length).toBeGreaterThan(0);
  });

  it("the direction interpolates with β1 but the momentum tracks with β2", () => {
    // Step 1 g = +1 gives m = (1−β2) = 0.01; step 2 g = −0.05: c = 0.9·0.01 − 0.1·0.05 = +0.004 > 0
    // (the β2 momentum alone, 0.99·0.01 − 0.01·0.05 = +0.0094, also > 0; the raw g is < 0).
    const { updates } = run(lion({ lr: 1, betas: [0.9, 0.99] }), [param("w", "scalar", [0])], [{ w: [1] }, { w: [-0.05] }]);
    expect(updates[1]!.w).toEqual([-1]);
    // With β1 = 0 the direction is sign(g) alone: +1.
    const raw = run(lion({ lr: 1, betas: [0, 0.99] }), [param("w", "scalar", [0])], [{ w: [1] }, { w: [-0.05] }]);
    expect(raw.updates[1]!.w).toEqual([1]);
  });

  it("defaults, registry and bad input", () => {
    expect(LION_DEFAULTS).toMatchObject({ lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0 });
    expect(() => lion({ lr: -1 })).toThrow(/lion: lr must be >= 0/);
    expect(() => lion({ betas: [0.9, 1] })).toThrow(/lion: betas/);
    expect(() => lion({ weight_decay: 0.1 })).toThrow(/did you mean 'weightDecay'/);
    const opt = partition([{ match: { roles: ["embed"] }, rule: "lion", hyper: { lr: 0.1 } }], [param("e", "embed", [1, 2])]);
    const s = opt.init([param("e", "embed", [1, 2])]) as Record<string, PerParamState>;
    expect(Object.keys(s)).toEqual(["lion"]);
  });
});
