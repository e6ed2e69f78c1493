import { relu, zerosLike } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { isCoefficients, newtonSchulz, type Coefficients } from "../linalg/index.js";
import { initPerParam, slot, updateEach, type PerParamState } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";
import { pickChoices } from "./choice.js";
import { absQuantile } from "./quantile.js";

export const ROOT_SCALES = ["moonshot", "keller", "none"] as const;
export type RootScale = (typeof ROOT_SCALES)[number];

export interface RootOptions {
  lr?: number;
  /** Decoupled: W ← W(1 − lr·wd), with the lr before the shape scale. */
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
  nsSteps?: number;
  /** Default "root": ROOT's per-shape table (Keller's triple, with a warning, for other shapes). */
  coefficients?: Coefficients;
  /** τ = quantile_q(|v|) + tauEps per matrix and step. */
  quantile?: number;
  tauEps?: number;
  /** "moonshot": 0.2·√max(m, n) (ROOT's); "keller": max(1, m/n)^½; "none": 1. */
  scale?: RootScale;
  schedule?: ScheduleSpec | Schedule;
}

/** ROOT's toy-script defaults (huawei-noah/noah-research ROOT/examples/example_train.py). */
export const ROOT_DEFAULTS = { lr: 1e-3, weightDecay: 0.1, momentum: 0.95, nesterov: true, nsSteps: 5, quantile: 0.9, tauEps: 1e-9, schedule: { kind: "constant" } } as const;

/**
 * ROOT (He et al. 2025, OPTIMIZERS.md §6): Muon on the soft-clipped momentum.
 *   buf ← μ·buf + g;  v = g + μ·buf (Nesterov) or buf
 *   τ = quantile_0.9(|v|) + 1e-9                       per matrix (per expert of [E, m, n])
 *   O = sign(v)·max(|v| − τ, 0)                         the "outliers", discarded
 *   B = v − O                                           ≡ clamp(v, −τ, τ)
 *   X = NS5(B) with the shape's (a, b, c) for all steps   (÷(‖B‖_F + 1e-7), wide orientation)
 *   W ← W(1 − lr·wd) − lr·0.2·√max(m, n)·X
 */
export function root(options: RootOptions | Hyper = {}): Transform<PerParamState> {
  const [{ scale }, rest0] = pickChoices("root", options as Hyper, { scale: ROOT_SCALES }, { scale: "moonshot" });
  const { coefficients = "root", ...rest } = rest0 as Record<string, unknown>;
  const h = readHyper("root", rest, ROOT_DEFAULTS);
  check("root", isCoefficients(coefficients), `coefficients must be "keller", "polar_express", "pe_safety_1.05", "root" or a list of [a, b, c] triples, got ${JSON.stringify(coefficients)}`);
  check("root", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("root", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("root", h.momentum >= 0 && h.momentum < 1, `momentum must be in [0, 1), got ${h.momentum}`);
  check("root", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  check("root", h.quantile > 0 && h.quantile <= 1, `quantile must be in (0, 1], got ${h.quantile}`);
  check("root", h.tauEps >= 0, `tauEps must be >= 0, got ${h.tauEps}`);
  const coeffs = coefficients as Coefficients;
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  const shapeScale = (m: number, n: number): number => (scale === "moonshot" ? 0.2 * Math.sqrt(Math.max(m, n)) : scale === "keller" ? Math.sqrt(Math.max(1, m / n)) : 1);

  return {
    name: "root",
    init: (params) =>
      initPerParam("root", params, (p) => {
        const r = p.value.ndim;
        if (r !== 2 && r !== 3) throw new Error(`root: takes matrices [m, n] or experts [E, m, n], but '${p.path}' has shape [${p.value.shape.join(", ")}]; give it another rule (adamw)`);
        return { momentum_buffer: zerosLike(p.value) };
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach("root", grads, state, params, (p, g, s) => {
        const buf = slot("root", s, p.path, "momentum_buffer").mul(h.momentum).add(g);
        const v = h.nesterov ? g.add(buf.mul(h.momentum)) : buf;
        const tau = absQuantile(v, h.quantile).add(h.tauEps);
        const base = v.sub(v.sign().mul(relu(v.abs().sub(tau))));
        const x = newtonSchulz(base, { coefficients: coeffs, steps: h.nsSteps, eps: 1e-7 });
        const [m, n] = p.value.shape.slice(-2) as [number, number];
        let u = x.mul(-lr * shapeScale(m, n));
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        return [u, { momentum_buffer: buf }];
      });
    },
    learningRates: (state) => ({ root: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
