import { describe, expect, it } from "vitest";
import type { Tensor } from "@equigrad/tensor";
import { ADAMW_DEFAULTS, adamw, applyUpdates, currentLearningRates, slotsOf, type AdamWOptions, type Param, type PerParamState } from "@equigrad/optim";
import { SHAPES, expectClose, f64, param, torchFixture, type TorchRun } from "./helpers.js";

/** torch.optim.AdamW written out by hand in float64, one scalar coordinate at a time. */
function handAdamW(p0: number[], grads: number[][], o: { lr: number[]; b1: number; b2: number; eps: number; wd: number; amsgrad: boolean }) {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const vmax = p.map(() => 0);
  const traj: number[][] = [];
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = o.lr[k]!;
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i]! * (1 - lr * o.wd);
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g[i]! * g[i]!;
      vmax[i] = Math.max(vmax[i]!, v[i]!);
      const mHat = m[i]! / (1 - o.b1 ** t);
      const vHat = (o.amsgrad ? vmax[i]! : v[i]!) / (1 - o.b2 ** t);
      p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
    traj.push([...p]);
  });
  return { traj, m, v, vmax };
}

const grads5 = (): number[][] => [0, 1, 2, 3, 4].map((t) => [0.3, -1.1, 2.0].map((g, i) => g * Math.cos(0.9 * t + i) / (1 + t)));

/** Runs the pure transform for every step of `grads` (updates applied with applyUpdates). */
function runPure(opts: AdamWOptions, p0: Param[], grads: Record<string, number[]>[]): { params: Param[]; state: PerParamState } {
  const opt = adamw(opts);
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

describe("adamw against the formula by hand (float64)", () => {
  const cases: [string, AdamWOptions, { b1: number; b2: number; eps: number; wd: number; amsgrad: boolean }][] = [
    ["defaults with weight decay 0.1", { lr: 0.01, weightDecay: 0.1 }, { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, amsgrad: false }],
    ["amsgrad, betas (0.5, 0.9)", { lr: 0.02, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.01, amsgrad: true }, { b1: 0.5, b2: 0.9, eps: 1e-6, wd: 0.01, amsgrad: true }],
    ["no weight decay", { lr: 0.003, weightDecay: 0 }, { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, amsgrad: false }],
  ];
  for (const [name, opts, o] of cases) {
    it(`${name}: parameters and moments over 5 steps`, () => {
      const p0 = [0.5, -0.25, 1.5];
      const gs = grads5();
      const want = handAdamW(p0, gs, { ...o, lr: gs.map(() => opts.lr!) });
      const { params, state } = runPure(opts, [param("w", "mlp.up", p0)], gs.map((g) => ({ w: g })));
      expectClose(params[0]!.value, want.traj.at(-1)!);
      const s = slotsOf("adamw", state, "w");
      expect(state.count).toBe(5);
      expectClose(s.exp_avg!, want.m);
      expectClose(s.exp_avg_sq!, want.v);
      if (o.amsgrad) expectClose(s.max_exp_avg_sq!, want.vmax);
      else expect(s.max_exp_avg_sq).toBeUndefined();
    });
  }

  it("amsgrad uses the running max of v: with shrinking gradients it steps less than plain AdamW", () => {
    const gs = [[1], [0.01], [0.01]];
    const run = (amsgrad: boolean) => runPure({ lr: 0.1, weightDecay: 0, amsgrad }, [param("w", "scalar", [0])], gs.map((g) => ({ w: g })));
    const plain = run(false).params[0]!.value.item();
    const ams = run(true).params[0]!.value.item();
    expect(Math.abs(ams)).toBeLessThan(Math.abs(plain));
    const o = { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, lr: [0.1, 0.1, 0.1] };
    expectClose([ams], handAdamW([0], gs, { ...o, amsgrad: true }).traj.at(-1)!);
    expectClose([plain], handAdamW([0], gs, { ...o, amsgrad: false }).traj.at(-1)!);
  });

  it("the schedule scales lr and with it the decoupled decay", () => {
    const lrs = [0.01, 0.005, 0.0025, 0.02, 0];
    const gs = grads5();
    const want = handAdamW([1, 2, 3], gs, { lr: lrs, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.2, amsgrad: false });
    const { params } = runPure({ lr: 0.01, weightDecay: 0.2, schedule: (t) => lrs[t]! / 0.01 }, [param("w", "embed", [1, 2, 3])], gs.map((g) => ({ w: g })));
    expectClose(params[0]!.value, want.traj.at(-1)!);
  });
});

describe("adamw known values (torch semantics)", () => {
  it("has torch.optim.AdamW's defaults", () => {
    expect(ADAMW_DEFAULTS).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
  });

  it("first step: p(1 − lr·wd) − lr·g/(|g| + ε), exactly", () => {
    const opt = adamw();
    const p = [param("w", "attn.q", [1, -2])];
    const [u] = opt.update({ w: f64([0.5, -3]) }, opt.init(p), p);
    const after = applyUpdates(p, u)[0]!.value.toArray();
    expectClose(after, [1 * (1 - 1e-5) - (1e-3 * 0.5) / (0.5 + 1e-8), -2 * (1 - 1e-5) + (1e-3 * 3) / (3 + 1e-8)], 1e-14);
    expectClose([after[0]!], [0.99899000002], 1e-11);
  });

  it("ε is added after bias correction (torch), not before (the Muon-code variant): a 1e-8 gradient moves by lr/2", () => {
    const opt = adamw({ lr: 1, weightDecay: 0 });
    const p = [param("w", "bias", [0])];
    const [u] = opt.update({ w: f64([1e-8]) }, opt.init(p), p);
    // torch: denom = √v/√(1−β2) + ε = 1e-8 + 1e-8.  The ε-first form would give ≈ 0.0306.
    expectClose(u.w!, [-0.5], 1e-9);
  });

  const runs: [string, TorchRun, AdamWOptions][] = [
    ["AdamW(lr 0.01, wd 0.1)", torchFixture.adamw, { lr: 0.01, weightDecay: 0.1 }],
    ["AdamW(lr 0.01, betas (0.6, 0.95), eps 1e-6, wd 0.05, amsgrad)", torchFixture.adamw_amsgrad_betas, { lr: 0.01, betas: [0.6, 0.95], eps: 1e-6, weightDecay: 0.05, amsgrad: true }],
    ["AdamW(lr 0.01, wd 0.1) with per-step lr", torchFixture.adamw_scheduled, { lr: 0.01, weightDecay: 0.1, schedule: (t) => torchFixture.adamw_scheduled.lrs[t]! / 0.01 }],
  ];
  for (const [name, run, opts] of runs) {
    it(`matches torch ${name} over 5 steps, state included`, () => {
      const p0 = Object.entries(torchFixture.p0).map(([k, v]) => param(k, k === "w" ? "attn.q" : "bias", v, SHAPES[k]));
      const { params, state } = runPure(opts, p0, run.grads);
      for (const p of params) expectClose(p.value, run.params.at(-1)![p.path]!, 1e-13);
      for (const p of params) {
        const s = slotsOf("adamw", state, p.path);
        const ts = run.state[p.path]!;
        expect(state.count).toBe(ts.step);
        for (const k of ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]) if (ts[k]) expectClose(s[k]!, ts[k] as number[], 1e-13);
      }
    });
  }
});

describe("adamw hyperparameters", () => {
  it("rejects unknown names with a suggestion, and out-of-range values", () => {
    expect(() => adamw({ weight_decay: 0.1 })).toThrow(/unknown hyperparameter 'weight_decay' \(did you mean 'weightDecay'\?\)/);
    expect(() => adamw({ betas: [0.9, 1] })).toThrow(/betas must be in \[0, 1\)/);
    expect(() => adamw({ lr: -1 })).toThrow(/lr must be >= 0/);
    expect(() => adamw({ betas: [0.9] as unknown as [number, number] })).toThrow(/'betas' must be 2 numbers/);
    expect(() => adamw({ amsgrad: 1 } as unknown as AdamWOptions)).toThrow(/'amsgrad' must be a boolean/);
  });

  it("reports the lr its latest update applied", () => {
    const opt = adamw({ lr: 0.1, schedule: { kind: "linear-warmup", warmupSteps: 4 } });
    const p = [param("w", "norm", [1])];
    let s = opt.init(p);
    expect(currentLearningRates(opt, s)).toEqual({ adamw: 0.025 });
    for (const want of [0.025, 0.05, 0.075, 0.1, 0.1]) {
      s = opt.update({ w: f64([1]) }, s, p)[1];
      expect(currentLearningRates(opt, s).adamw).toBeCloseTo(want, 15);
    }
  });
});
