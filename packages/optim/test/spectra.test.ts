import { describe, expect, it } from "vitest";
import { tensor } from "@equigrad/tensor";
import { adamw, partition, rules, SPECTRA_DEFAULTS, slotsOf, spectra, spectralClip, type Hyper, type Param, type State, type Transform } from "@equigrad/optim";
import { expectClose, f64, param } from "./helpers.js";
import { flat, frob, mat, noise, run, type Mat } from "./extra-run.js";
import { mapSingular, singularValues } from "./svd-reference-extra.js";

const rand = (m: number, n: number, seed: number, s = 1): Mat => mat(noise(m * n, seed).map((x) => x * s), m, n);
const clipped = (s: number, c: number): number => s / Math.sqrt(1 + (s * s) / (c * c));
const hc = (x: Mat, c: number, steps = 10): Mat => mat(spectralClip(f64(flat(x), [x.length, x[0]!.length]), c, steps).toArray(), x.length, x[0]!.length);
const wrap = (o: Hyper) => spectra(o, { registry: rules });

describe("SPECTRA's soft spectral clip H_c (T19, float64)", () => {
  it("matches the SVD: σ ↦ σ/√(1 + σ²/c²), same singular vectors (10 NS steps)", () => {
    for (const [m, n, seed] of [[4, 6, 1], [6, 4, 2], [5, 5, 3]] as const) {
      const x = rand(m, n, seed);
      const c = singularValues(x)[0]! / 3; // the top σ is 3c: well inside the clipping range
      const out = hc(x, c);
      const want = singularValues(x).map((s) => clipped(s, c));
      // Measured ≤ 2e-15 in float64 (α ≈ 10 converges in 10 steps); the doc's fp32 bound is 1e-2.
      singularValues(out).forEach((s, i) => expect(Math.abs(s - want[i]!) / want[i]!).toBeLessThan(1e-12));
      const ref = mapSingular(x, (s) => clipped(s, c));
      expect(frob(mat(flat(out).map((v, i) => v - flat(ref)[i]!), m, n)) / frob(ref)).toBeLessThan(1e-12);
      // float32: the doc's tolerance.
      const out32 = mat(spectralClip(tensor(Float32Array.from(flat(x)), { shape: [m, n], dtype: "float32" }), c, 10).toArray(), m, n);
      singularValues(out32).forEach((s, i) => expect(Math.abs(s - want[i]!) / want[i]!).toBeLessThan(1e-2));
    }
  });

  it("every output σ < c, even with σ_max = 100c; small σ pass almost unchanged", () => {
    const x = rand(4, 7, 9);
    const c = singularValues(x)[0]! / 100;
    const s = singularValues(hc(x, c));
    expect(Math.max(...s)).toBeLessThan(c);
    const tiny = rand(3, 5, 10, 1e-3);
    const st = singularValues(hc(tiny, 10));
    singularValues(tiny).forEach((v, i) => expect(Math.abs(st[i]! - v) / v).toBeLessThan(1e-6));
  });

  it("vectors: g/√(1 + (‖g‖/c)²) above c, unchanged below", () => {
    const g = [3, 4];
    expectClose(spectralClip(f64(g), 1, 10), g.map((x) => x / Math.sqrt(1 + 25)));
    expectClose(spectralClip(f64(g), 6, 10), g, 0, 0);
  });

  it("experts [E, m, n]: each slice clipped on its own", () => {
    const a = rand(3, 4, 11);
    const b = rand(3, 4, 12, 20);
    const both = spectralClip(f64([...flat(a), ...flat(b)], [2, 3, 4]), 0.5, 10).toArray();
    expectClose(both, [...flat(hc(a, 0.5)), ...flat(hc(b, 0.5))], 1e-13, 1e-16);
  });
});

/** Runs a transform and returns every step's updates. */
const updatesOf = <S extends State>(t: Transform<S>, p0: Param[], gs: Record<string, number[]>[]) => run(t, p0, gs);

describe("SPECTRA wrapper (float64)", () => {
  const p0 = (): Param[] => [param("w", "mlp.down", noise(12, 20), [4, 3]), param("b", "bias", noise(3, 21))];
  const gs = [0, 1, 2, 3, 4].map((t) => ({ w: noise(12, 22 + t), b: noise(3, 30 + t) }));
  const adamHyper = { lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.999], schedule: { kind: "linear-warmup", warmupSteps: 3 } };

  it("T19: identity post-processing (mode none) reproduces the base AdamW update exactly (to rounding), matrices and vectors", () => {
    const want = updatesOf(adamw(adamHyper), p0(), gs);
    const got = updatesOf(wrap({ base: { rule: "adamw", hyper: adamHyper }, mode: "none", applyTo: "all" }), p0(), gs);
    got.updates.forEach((u, k) => {
      expectClose(u.w!, want.updates[k]!.w!, 1e-12, 1e-17);
      expectClose(u.b!, want.updates[k]!.b!, 1e-12, 1e-17);
    });
    // The base state is the AdamW state itself, under `base`.
    expectClose(slotsOf("adamw", got.state.base as never, "w").exp_avg!, slotsOf("adamw", want.state, "w").exp_avg!.toArray(), 0, 0);
    expect(got.state.count).toBe(5);
  });

  it("clip: u' = −ηλX − η·s·H_c(U) with U the recovered AdamW direction; vectors untouched under applyTo 2d", () => {
    const lr = 0.01;
    const wd = 0.1;
    const c = 0.5;
    const ps = [param("w", "mlp.down", noise(12, 20), [4, 3]), param("b", "bias", noise(3, 21))];
    const g = gs[0]!;
    const [u] = wrap({ base: { rule: "adamw", hyper: { lr, weightDecay: wd } }, c }).update({ w: f64(g.w, [4, 3]), b: f64(g.b) }, wrap({ base: { rule: "adamw", hyper: { lr, weightDecay: wd } }, c }).init(ps), ps);
    // Step 1 of AdamW: the direction is g/(|g| + ε).
    const U = mat(g.w.map((x) => x / (Math.abs(x) + 1e-8)), 4, 3);
    const s = Math.sqrt(4 / 3); // tall: max(1, m/n)^½
    const X = noise(12, 20);
    const want = flat(hc(U, c)).map((h, i) => -lr * wd * X[i]! - lr * s * h);
    expectClose(u.w!, want, 1e-11, 1e-16);
    const plain = adamw({ lr, weightDecay: wd });
    const [ub] = plain.update({ w: f64(g.w, [4, 3]), b: f64(g.b) }, plain.init(ps), ps);
    expectClose(u.b!, ub.b!.toArray(), 0, 0);
    // The clipped update's direction has every σ < c·s·lr (plus the decay term).
    const dir = mat(u.w!.toArray().map((v, i) => (v + lr * wd * X[i]!) / (lr * s)), 4, 3);
    expect(Math.max(...singularValues(dir))).toBeLessThan(c);
    // Negative control: AdamW's own direction has σ_max far above c.
    expect(singularValues(U)[0]!).toBeGreaterThan(3 * c);
  });

  it("clip over 4 steps against AdamW and H_c written by hand (float64 moments, SVD clip)", () => {
    const [lr, wd, b1, b2, eps, c] = [0.02, 0.1, 0.8, 0.999, 1e-8, 0.7];
    const X0 = noise(12, 70);
    const grads = [0, 1, 2, 3].map((t) => noise(12, 71 + t));
    let X = [...X0];
    const m = X.map(() => 0);
    const v = X.map(() => 0);
    grads.forEach((g, k) => {
      const t = k + 1;
      g.forEach((x, i) => {
        m[i] = b1 * m[i]! + (1 - b1) * x;
        v[i] = b2 * v[i]! + (1 - b2) * x * x;
      });
      const U = mat(m.map((mi, i) => mi / (1 - b1 ** t) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps)), 3, 4);
      const H = flat(mapSingular(U, (s) => clipped(s, c)));
      X = X.map((x, i) => x * (1 - lr * wd) - lr * H[i]!); // wide: s = 1
    });
    const got = run(wrap({ base: { rule: "adamw", hyper: { lr, weightDecay: wd, betas: [b1, b2] } }, c }), [param("w", "attn.o", X0, [3, 4])], grads.map((g) => ({ w: g })));
    expectClose(got.params[0]!.value, X, 1e-9, 1e-12);
  });

  it("warmup holds c·lr constant: threshold c/μ_t with μ_t the base schedule's multiplier", () => {
    const hyper = { lr: 0.1, weightDecay: 0, schedule: { kind: "linear-warmup", warmupSteps: 4 } };
    const ps = [param("w", "attn.q", new Array(6).fill(0), [2, 3])];
    const t = wrap({ base: { rule: "adamw", hyper }, c: 0.3, warmupSteps: 4 });
    const [u] = t.update({ w: f64(noise(6, 40), [2, 3]) }, t.init(ps), ps);
    const U = mat(noise(6, 40).map((x) => x / (Math.abs(x) + 1e-8)), 2, 3);
    const mu = 1 / 4; // (t + 1)/w at t = 0
    expectClose(u.w!, flat(hc(U, 0.3 / mu)).map((x) => -0.1 * mu * x), 1e-11, 1e-16);
  });

  it("normalize mode uses NS5; decay schedules move c toward c·finalScale", () => {
    const ps = [param("w", "attn.q", new Array(6).fill(0), [2, 3])];
    const t = wrap({ base: { rule: "sgd", hyper: { lr: 1 } }, mode: "normalize" });
    const [u] = t.update({ w: f64(noise(6, 41), [2, 3]) }, t.init(ps), ps);
    const s = singularValues(mat(u.w!.toArray(), 2, 3));
    for (const x of s) {
      expect(x).toBeGreaterThan(0.68);
      expect(x).toBeLessThan(1.21);
    }
    // Linear decay over the last half of 4 steps to 0.5c: steps 0, 1 at c; step 2 at c; step 3 at 0.75c.
    const dec = wrap({ base: { rule: "sgd", hyper: { lr: 1 } }, c: 0.2, decay: "linear", decayFraction: 0.5, finalScale: 0.5, totalSteps: 4 });
    const g = noise(6, 42);
    const r = run(dec, ps, [0, 1, 2, 3].map(() => ({ w: g })));
    expectClose(r.updates[3]!.w!, flat(hc(mat(g, 2, 3), 0.2 * 0.75)).map((x) => -x), 1e-12, 1e-16);
    expectClose(r.updates[1]!.w!, flat(hc(mat(g, 2, 3), 0.2)).map((x) => -x), 1e-12, 1e-16);
  });

  it("pre-clipping: the base rule sees H_cPre(G)", () => {
    const ps = [param("w", "attn.q", new Array(12).fill(0), [3, 4])];
    const g = noise(12, 43).map((x) => x * 5);
    const t = wrap({ base: { rule: "sgd", hyper: { lr: 0.5 } }, mode: "none", cPre: 0.1 });
    const [u] = t.update({ w: f64(g, [3, 4]) }, t.init(ps), ps);
    expectClose(u.w!, flat(hc(mat(g, 3, 4), 0.1)).map((x) => -0.5 * x), 1e-12, 1e-16);
    expect(Math.max(...singularValues(mat(u.w!.toArray(), 3, 4)))).toBeLessThan(0.5 * 0.1);
  });

  it("through the registry, and bad input", () => {
    const ps = [param("w", "mlp.up", noise(6, 50), [2, 3])];
    const opt = partition([{ match: { roles: ["mlp.up"] }, rule: "spectra", hyper: { base: { rule: "adamw", hyper: { lr: 0.01, weightDecay: 0 } }, c: 5 } }], ps);
    const [u] = opt.update({ w: f64(noise(6, 51), [2, 3]) }, opt.init(ps), ps);
    expect(u.w!.shape).toEqual([2, 3]);
    expect(opt.learningRates!(opt.init(ps))).toEqual({ spectra: 0.01 });
    expect(SPECTRA_DEFAULTS).toMatchObject({ c: 1, nsSteps: 10, cPre: 0 });
    expect(() => wrap({})).toThrow(/spectra: 'base' must be \{ rule/);
    expect(() => wrap({ base: { rule: "adam" } })).toThrow(/base rule 'adam' is not registered; known: adamw, sgd/);
    // A core matrix rule as the base (Muon: default decay 0), clipped.
    const mu = updatesOf(wrap({ base: { rule: "muon", hyper: { lr: 0.02, perHead: false } }, mode: "none" }), ps, [{ w: noise(6, 53) }]).updates[0]!.w!;
    const muPlain = updatesOf(rules.get("muon")!.create({ lr: 0.02, perHead: false }, { label: "muon", params: ps }), ps, [{ w: noise(6, 53) }]).updates[0]!.w!;
    expectClose(mu, muPlain, 1e-12, 1e-17);
    const custom = rules.clone().register("mine", { create: (h: Hyper) => adamw(h) });
    expect(() => spectra({ base: { rule: "mine", hyper: { lr: 1 } } }, { registry: custom })).toThrow(/give base.hyper.weightDecay explicitly for 'mine'/);
    // A built-in base without weightDecay gets its default (AdamW: 1e-2), so mode none reproduces it.
    const a = updatesOf(wrap({ base: { rule: "adamw", hyper: { lr: 0.1 } }, mode: "none" }), ps, [{ w: noise(6, 52) }]).updates[0]!.w!;
    expectClose(a, updatesOf(adamw({ lr: 0.1 }), ps, [{ w: noise(6, 52) }]).updates[0]!.w!, 1e-12, 1e-17);
    expect(() => wrap({ base: { rule: "sgd", hyper: { weightDecay: 0.1 } } })).toThrow(/sgd's weightDecay is coupled/);
    expect(() => wrap({ base: { rule: "adamw", hyper: { weightDecay: 0 } }, mode: "hard" })).toThrow(/'mode' must be one of "clip", "normalize", "none"/);
    expect(() => wrap({ base: { rule: "adamw", hyper: { weightDecay: 0 } }, decay: "linear" })).toThrow(/needs totalSteps > 0/);
    expect(() => wrap({ base: { rule: "adamw", hyper: { weightDecay: 0, lr: -1 } } })).toThrow(/adamw: lr must be >= 0/);
  });
});

describe("T22: AdamW's first step (float64)", () => {
  const g = [0.3, -2e-3, 5, -1e-5, 0];
  const eps = 1e-3; // large, so where ε sits is visible
  const [b1, b2] = [0.9, 0.95];
  it("torch form: u = −γ·g/(|g| + ε) (bias correction makes m̂ = g, v̂ = g²); decay does not enter m or v", () => {
    const lr = 0.1;
    const wd = 0.5;
    const p = noise(5, 60);
    const { updates, state } = run(adamw({ lr, eps, weightDecay: wd, betas: [b1, b2] }), [param("w", "bias", p)], [{ w: g }]);
    expectClose(updates[0]!.w!, g.map((x, i) => -lr * wd * p[i]! - (lr * x) / (Math.abs(x) + eps)), 1e-14, 1e-18);
    expectClose(slotsOf("adamw", state, "w").exp_avg!, g.map((x) => (1 - b1) * x), 1e-15, 0);
    expectClose(slotsOf("adamw", state, "w").exp_avg_sq!, g.map((x) => (1 - b2) * x * x), 1e-15, 0);
  });

  it("Muon-family form m/(ε + √v)·√(1−β2^t)/(1−β1^t) gives −γ·g/(|g| + ε/√(1−β2)): torch AdamW with ε/√(1−β2)", () => {
    const lr = 0.1;
    // The Muon-family formula (Moonlight / ROOT code) at t = 1, by hand.
    const muonFamily = g.map((x) => -lr * (((1 - b1) * x) / (eps + Math.sqrt((1 - b2) * x * x))) * (Math.sqrt(1 - b2) / (1 - b1)));
    expectClose(muonFamily, g.map((x) => (-lr * x) / (Math.abs(x) + eps / Math.sqrt(1 - b2))), 1e-14, 1e-18);
    const { updates } = run(adamw({ lr, eps: eps / Math.sqrt(1 - b2), weightDecay: 0, betas: [b1, b2] }), [param("w", "bias", [0, 0, 0, 0, 0])], [{ w: g }]);
    expectClose(updates[0]!.w!, muonFamily, 1e-14, 1e-18);
    // Negative control: the torch form with the same ε differs where |g| is near ε.
    const torch = run(adamw({ lr, eps, weightDecay: 0, betas: [b1, b2] }), [param("w", "bias", [0, 0, 0, 0, 0])], [{ w: g }]).updates[0]!.w!;
    expect(Math.abs(torch[1]! - muonFamily[1]!)).toBeGreaterThan(1e-3 * lr);
  });
});
