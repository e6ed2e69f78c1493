import { full, stack, zerosLike, type Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { newtonSchulz, polar } from "../linalg/index.js";
import { initPerParam, nextPerParam, slot, slotsOf, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import { byPath, gradOf, type Grads, type Param, type Transform, type Updates } from "../transform.js";
import { pickChoices } from "./choice.js";

export const LANTON_LMOS = ["spectral", "sign"] as const;
export type LantonLmo = (typeof LANTON_LMOS)[number];

export interface LantonOptions {
  /** Must be true: this rule is a reconstruction, not the paper's Algorithm 1 (see below). */
  acknowledgeReconstruction?: boolean;
  /** The group lr η_t^group. */
  lr?: number;
  /** β1: momentum B ← β1·B + (1 − β1)·G; β2: the EMA of the squared dual noise norm. */
  betas?: readonly [number, number];
  eps?: number;
  /** κ: a layer's lr is at most κ times the group lr. */
  maxRatio?: number;
  weightDecay?: number;
  /** The group's LMO: "spectral" (D-Muon: NS5·0.2√max(m, n); dual norm nuclear) or "sign" (ℓ∞ ball; dual norm ℓ1). */
  lmo?: LantonLmo;
  nsSteps?: number;
  schedule?: ScheduleSpec | Schedule;
}

/** Our choices, not the paper's (its defaults are unknown). */
export const LANTON_DEFAULTS = {
  acknowledgeReconstruction: false, lr: 1e-3, betas: [0.95, 0.99], eps: 1e-8, maxRatio: 10, weightDecay: 0, nsSteps: 5, schedule: { kind: "constant" },
} as const;

/**
 * LANTON, noise-adaptive layerwise learning rates (Hao et al., arXiv:2510.14009), as a LABELLED
 * RECONSTRUCTION (OPTIMIZERS.md §8): Algorithm 1's exact formulas could not be retrieved — which
 * quantity's dual norm is tracked, whether with an EMA, how noise maps to the layer lr, and the
 * defaults are all unknown (§12 item 3). What is built, per layer ℓ of the group (this table entry):
 *   B ← β1·B + (1 − β1)·G
 *   H ← β2·H + (1 − β2)·‖G − B‖_dual²         nuclear norm (≈ Σ(D ⊙ polar(D)), 5 Polar Express steps) or ℓ1
 *   r = clamp(√(max_ℓ' H_ℓ' / (H + ε)), 1, κ)  quieter layers get larger steps, up to κ× the group lr
 *   W ← W(1 − η·wd) − η·r·LMO(B)               LMO: NS5(B)·0.2√max(m, n) (D-Muon) or sign(B)
 * The state keeps B (`exp_avg`), H (`noise`, 0-d) and the latest r (`lr_ratio`, 0-d) per layer.
 * Replace this with the paper's rule once Algorithm 1 is in hand.
 */
export function lanton(options: LantonOptions | Hyper = {}): Transform<PerParamState> {
  const [{ lmo }, rest] = pickChoices("lanton", options as Hyper, { lmo: LANTON_LMOS }, { lmo: "spectral" });
  const h = readHyper("lanton", rest, LANTON_DEFAULTS);
  check(
    "lanton",
    h.acknowledgeReconstruction,
    "this rule is a reconstruction, not the paper's Algorithm 1: its noise estimator, the noise-to-lr map and its defaults could not be retrieved (OPTIMIZERS.md §8, §12 item 3). Set acknowledgeReconstruction: true to use it anyway, and label its results as a reconstruction",
  );
  const [b1, b2] = h.betas as [number, number];
  check("lanton", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("lanton", b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, `betas must be in [0, 1), got [${b1}, ${b2}]`);
  check("lanton", h.eps > 0, `eps must be > 0, got ${h.eps}`);
  check("lanton", h.maxRatio >= 1, `maxRatio must be >= 1, got ${h.maxRatio}`);
  check("lanton", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("lanton", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  const dualNorm = (d: Tensor): Tensor => (lmo === "spectral" ? d.mul(polar(d, { impl: "newton_schulz", steps: 5 })).sum() : d.abs().sum());
  const direction = (b: Tensor): Tensor => {
    if (lmo === "sign") return b.sign();
    const [m, n] = b.shape.slice(-2) as [number, number];
    return newtonSchulz(b, { coefficients: "keller", steps: h.nsSteps }).mul(0.2 * Math.sqrt(Math.max(m, n)));
  };

  return {
    name: "lanton",
    init: (params) =>
      initPerParam("lanton", params, (p) => {
        const r = p.value.ndim;
        if (lmo === "spectral" && r !== 2 && r !== 3) throw new Error(`lanton: the spectral LMO takes matrices or experts [E, m, n], but '${p.path}' has shape [${p.value.shape.join(", ")}]; use lmo "sign" or another rule`);
        return { exp_avg: zerosLike(p.value), noise: full([], 0, { dtype: p.value.dtype }), lr_ratio: full([], 1, { dtype: p.value.dtype }) };
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      const ps = [...byPath(params).values()];
      const moments = ps.map((p) => {
        const g = gradOf(grads, p.path, "lanton");
        const s = slotsOf("lanton", state, p.path);
        const b = slot("lanton", s, p.path, "exp_avg").mul(b1).add(g.mul(1 - b1));
        const noise = slot("lanton", s, p.path, "noise").mul(b2).add(dualNorm(g.sub(b)).square().mul(1 - b2));
        return { b, noise };
      });
      // The group's noisiest layer sets the reference; every ratio is ≥ 1.
      const loudest = ps.length > 0 ? stack(moments.map((m) => m.noise)).max() : undefined;
      const updates: Updates = {};
      const slots: Record<string, Slots> = {};
      ps.forEach((p, i) => {
        const { b, noise } = moments[i]!;
        const ratio = loudest!.div(noise.add(h.eps)).sqrt().clamp(1, h.maxRatio);
        let u = direction(b).mul(ratio).mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        updates[p.path] = u;
        slots[p.path] = { exp_avg: b, noise, lr_ratio: ratio };
      });
      return [updates, nextPerParam(state, slots)];
    },
    learningRates: (state) => ({ lanton: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
