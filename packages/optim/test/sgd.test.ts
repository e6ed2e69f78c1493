import { describe, expect, it } from "vitest";
import type { Tensor } from "@equigrad/tensor";
import { SGD_DEFAULTS, applyUpdates, sgd, slotsOf, type Param, type PerParamState, type SgdOptions } from "@equigrad/optim";
import { SHAPES, expectClose, f64, param, torchFixture, type TorchRun } from "./helpers.js";

/** torch.optim.SGD by hand in float64. */
function handSgd(p0: number[], grads: number[][], o: { lr: number; mu: number; damp: number; wd: number; nesterov: boolean }) {
  const p = [...p0];
  const b = p.map(() => 0);
  grads.forEach((g, t) => {
    for (let i = 0; i < p.length; i++) {
      let d = g[i]! + o.wd * p[i]!;
      if (o.mu !== 0) {
        b[i] = t === 0 ? d : o.mu * b[i]! + (1 - o.damp) * d;
        d = o.nesterov ? d + o.mu * b[i]! : b[i]!;
      }
      p[i] = p[i]! - o.lr * d;
    }
  });
  return { p, b };
}

function runPure(opts: SgdOptions, p0: Param[], grads: Record<string, number[]>[]): { params: Param[]; state: PerParamState } {
  const opt = sgd(opts);
  let params = p0;
  let state = opt.init(params);
  for (const g of grads) {
    const gt: Record<string, Tensor> = Object.fromEntries(params.map((p) => [p.path, f64(g[p.path]!, [...p.value.shape])]));
    const [u, s] = opt.update(gt, state, params);
    params = applyUpdates(params, u);
    state = s;
  }
  return { params, state };
}

const gs = [[1, -2, 0.5], [0.5, 1, -1], [-0.25, 0.5, 2], [1, 1, 1]];

describe("sgd against the formula by hand", () => {
  const cases: [string, SgdOptions, { lr: number; mu: number; damp: number; wd: number; nesterov: boolean }][] = [
    ["plain", { lr: 0.1 }, { lr: 0.1, mu: 0, damp: 0, wd: 0, nesterov: false }],
    ["momentum 0.9 (first buffer = gradient, undamped)", { lr: 0.1, momentum: 0.9 }, { lr: 0.1, mu: 0.9, damp: 0, wd: 0, nesterov: false }],
    ["momentum with dampening 0.5 and weight decay", { lr: 0.05, momentum: 0.9, dampening: 0.5, weightDecay: 0.1 }, { lr: 0.05, mu: 0.9, damp: 0.5, wd: 0.1, nesterov: false }],
    ["Nesterov with weight decay", { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }, { lr: 0.05, mu: 0.8, damp: 0, wd: 0.01, nesterov: true }],
  ];
  for (const [name, opts, o] of cases) {
    it(name, () => {
      const want = handSgd([1, 2, 3], gs, o);
      const { params, state } = runPure(opts, [param("w", "mlp.up", [1, 2, 3])], gs.map((g) => ({ w: g })));
      expectClose(params[0]!.value, want.p);
      if (o.mu !== 0) expectClose(slotsOf("sgd", state, "w").momentum_buffer!, want.b);
      else expect(slotsOf("sgd", state, "w")).toEqual({});
    });
  }

  it("the first momentum step equals plain SGD (torch copies the first gradient into the buffer)", () => {
    const a = runPure({ lr: 0.1, momentum: 0.9, dampening: 0.3 }, [param("w", "scalar", [1])], [{ w: [2] }]).params[0]!.value.item();
    expect(a).toBeCloseTo(1 - 0.2, 15);
  });

  it("has torch's defaults and rejects Nesterov without momentum or with dampening", () => {
    expect(SGD_DEFAULTS).toMatchObject({ lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false });
    expect(() => sgd({ nesterov: true })).toThrow(/nesterov needs momentum > 0 and dampening 0/);
    expect(() => sgd({ nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/nesterov/);
  });
});

describe("sgd known values (torch.optim.SGD, float64)", () => {
  const runs: [string, TorchRun, SgdOptions][] = [
    ["SGD(lr 0.1, momentum 0.9, dampening 0.1, wd 0.01)", torchFixture.sgd_momentum, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
    ["SGD(lr 0.1, momentum 0.8, nesterov, wd 0.02)", torchFixture.sgd_nesterov, { lr: 0.1, momentum: 0.8, nesterov: true, weightDecay: 0.02 }],
    ["SGD(lr 0.05)", torchFixture.sgd_plain, { lr: 0.05 }],
  ];
  for (const [name, run, opts] of runs) {
    it(`matches torch ${name} over 5 steps`, () => {
      const p0 = Object.entries(torchFixture.p0).map(([k, v]) => param(k, "scalar", v, SHAPES[k]));
      const { params, state } = runPure(opts, p0, run.grads);
      for (const p of params) {
        expectClose(p.value, run.params.at(-1)![p.path]!, 1e-13);
        const buf = run.state[p.path]?.momentum_buffer;
        if (buf) expectClose(slotsOf("sgd", state, p.path).momentum_buffer!, buf as number[], 1e-13);
      }
    });
  }
});
