import type { Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import type { RuleContext, RuleRegistry } from "../registry.js";
import { schedule as toSchedule, type Schedule, type ScheduleSpec } from "../schedules.js";
import { byPath, type Grads, type Param, type State, type Transform, type Updates } from "../transform.js";
import { ADAMW_DEFAULTS } from "./adamw.js";
import { ADABELIEF_DEFAULTS } from "./adabelief.js";
import { pickChoices } from "./choice.js";
import { LION_DEFAULTS } from "./lion.js";
import { ROOT_DEFAULTS } from "./root.js";
import { SGD_DEFAULTS } from "./sgd.js";
import { SWAN_DEFAULTS } from "./swan.js";
import { HYBRID_DEFAULTS } from "./hybrid.js";
import { MUON_DEFAULTS } from "./muon.js";
import { POLARGRAD_DEFAULTS } from "./polargrad.js";
import { ROWNORM_DEFAULTS } from "./rownorm.js";
import { spectralClip, spectralNormalize } from "./spectral-clip.js";

export const SPECTRA_MODES = ["clip", "normalize", "none"] as const;
export const SPECTRA_DECAYS = ["constant", "linear", "sqrt", "cosine", "exp", "square"] as const;

export interface SpectraOptions {
  /** The wrapped rule, resolved through the registry; it must use decoupled, lr-scaled decay `weightDecay`. */
  base: { rule: string; hyper?: Hyper };
  /** "clip": H_c; "normalize": NS5 (Muon's direction); "none": the recovered update unchanged (a check). */
  mode?: (typeof SPECTRA_MODES)[number];
  /** The clipping threshold c. */
  c?: number;
  nsSteps?: number;
  /** "2d": matrices (and [E, m, n] experts, per slice) only; "all": vectors too. */
  applyTo?: "2d" | "all";
  /** > 0: every matrix gradient becomes H_{cPre}(G) before the base rule sees it. 0: off. */
  cPre?: number;
  /** While the base schedule's multiplier ramps up over these updates, c·lr is held constant. */
  warmupSteps?: number;
  /** c's decay over the last decayFraction·totalSteps updates, from c to c·finalScale. */
  decay?: (typeof SPECTRA_DECAYS)[number];
  decayFraction?: number;
  finalScale?: number;
  totalSteps?: number;
}

/** The reference class's defaults (clip_c 1.0, 10 NS steps, apply_to '2d', no pre-clip). */
export const SPECTRA_DEFAULTS = { c: 1, nsSteps: 10, cPre: 0, warmupSteps: 0, decayFraction: 0.1, finalScale: 0, totalSteps: 0 } as const;

/** The wrapper's state: its own update count and the base rule's state. */
export type SpectraState = { readonly count: number; readonly base: State };

/**
 * SPECTRA (Jiang, Semenov, Stich 2026, OPTIMIZERS.md §7): post-clips the update of ANY base rule
 * with decoupled weight decay. With the base's update u (p ← p + u), its applied lr η and decay λ:
 *   U = −u/η − λ·X                       the base direction, recovered
 *   u' = −ηλ·X − η·s·P(U)                 P = H_c (clip) or NS5 (normalize); s = max(1, m/n)^½ for matrices
 * Pre-clipping (cPre > 0) replaces every matrix gradient by H_{cPre}(G) first. During warmup the
 * thresholds are c/μ_t and cPre/μ_t, μ_t the base schedule's multiplier (c·lr stays constant); then
 * c, with an optional decay to c·finalScale over the last decayFraction of totalSteps.
 * Where η = 0 the base update passes unchanged. The base's state lives under `base`.
 * Order: the reference pre-clips before global grad-norm clipping; here `step`'s maxGradNorm runs
 * before the optimizer, so the pre-clip sees the norm-clipped gradients.
 */
export function spectra(options: SpectraOptions | Hyper, deps: { registry: RuleRegistry; ctx?: RuleContext }): Transform<SpectraState> {
  const { base: baseSpec, ...given } = options as Hyper & { base?: unknown };
  const [{ mode, applyTo, decay }, rest] = pickChoices("spectra", given, { mode: SPECTRA_MODES, applyTo: ["2d", "all"], decay: SPECTRA_DECAYS }, { mode: "clip", applyTo: "2d", decay: "constant" });
  const h = readHyper("spectra", rest, SPECTRA_DEFAULTS);
  check("spectra", h.c > 0, `c must be > 0, got ${h.c}`);
  check("spectra", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  check("spectra", h.cPre >= 0, `cPre must be >= 0 (0 turns pre-clipping off), got ${h.cPre}`);
  check("spectra", Number.isInteger(h.warmupSteps) && h.warmupSteps >= 0, `warmupSteps must be a non-negative integer, got ${h.warmupSteps}`);
  check("spectra", h.decayFraction >= 0 && h.decayFraction <= 1 && h.finalScale >= 0, `decayFraction must be in [0, 1] and finalScale >= 0`);
  check("spectra", decay === "constant" || h.totalSteps > 0, `decay "${decay}" needs totalSteps > 0`);
  const base = baseSpec as { rule?: unknown; hyper?: unknown } | undefined;
  check("spectra", typeof base === "object" && base !== null && typeof base.rule === "string", `'base' must be { rule: "<registered rule>", hyper?: {...} }, got ${JSON.stringify(baseSpec)}`);
  const rule = base!.rule as string;
  const baseHyper = (base!.hyper ?? {}) as Hyper;
  check("spectra", rule !== "spectra", "the base of spectra cannot be spectra");
  const spec = deps.registry.get(rule);
  check("spectra", spec !== undefined, `base rule '${rule}' is not registered; known: ${deps.registry.names().join(", ")}`);
  const ctx: RuleContext = deps.ctx ?? { label: rule, params: [] };
  const inner = spec!.create(baseHyper, ctx);
  const wd = decayOf(rule, baseHyper, (hy) => spec!.create(hy, ctx));
  const mult: Schedule = toSchedule((baseHyper.schedule as ScheduleSpec | Schedule | undefined) ?? { kind: "constant" });

  const threshold = (c: number, count: number): number => {
    if (count < h.warmupSteps) return c / Math.max(mult(count), 1e-10);
    if (decay === "constant") return c;
    const nAnneal = Math.floor(h.decayFraction * h.totalSteps);
    const nHold = h.totalSteps - nAnneal;
    if (count < nHold) return c;
    const p = Math.min((count - nHold) / Math.max(nAnneal, 1), 1);
    const f = h.finalScale;
    const factor =
      decay === "linear" ? f + (1 - f) * (1 - p)
      : decay === "sqrt" ? f + (1 - f) * (1 - Math.sqrt(p))
      : decay === "cosine" ? f + ((1 - f) * (1 + Math.cos(Math.PI * p))) / 2
      : decay === "exp" ? (f > 0 ? f ** p : 1 - p)
      : f + (1 - f) * (1 - p * p);
    return c * factor;
  };
  const processes = (x: Tensor): boolean => (applyTo === "all" ? true : x.ndim === 2 || x.ndim === 3);
  const lrOf = (s: State): number => {
    const lrs = Object.values(inner.learningRates?.(s) ?? {});
    if (lrs.length !== 1) throw new Error(`spectra: base rule '${rule}' must report exactly one learning rate (learningRates), got ${lrs.length}`);
    return lrs[0]!;
  };

  return {
    name: "spectra",
    init(params) {
      const ranks = spec!.ranks;
      for (const p of params) {
        if (ranks && !ranks.includes(p.value.ndim)) throw new Error(`spectra: base rule '${rule}' accepts rank ${ranks.join(" or ")}, but '${p.path}' has shape [${p.value.shape.join(", ")}]`);
      }
      return { count: 0, base: inner.init(params) };
    },
    update(grads: Grads, state: SpectraState, params: readonly Param[]): [Updates, SpectraState] {
      const count = state.count;
      let g = grads;
      if (h.cPre > 0) {
        const cPre = threshold(h.cPre, count);
        g = Object.fromEntries(Object.entries(grads).map(([k, x]) => [k, x.ndim === 2 || x.ndim === 3 ? spectralClip(x, cPre, h.nsSteps) : x]));
      }
      const [u, nextBase] = inner.update(g, state.base, params);
      const lr = lrOf(nextBase);
      const next: SpectraState = { count: count + 1, base: nextBase };
      if (lr === 0) return [u, next];
      const c = threshold(h.c, count);
      const out: Updates = { ...u };
      for (const p of byPath(params).values()) {
        const up = u[p.path];
        if (up === undefined || !processes(p.value)) continue;
        const X = p.value;
        let U = up.mul(-1 / lr);
        if (wd !== 0) U = U.sub(X.mul(wd));
        const P = mode === "clip" ? spectralClip(U, c, h.nsSteps) : mode === "normalize" ? spectralNormalize(U, h.nsSteps) : U;
        const s = mode !== "none" && X.ndim >= 2 ? Math.sqrt(Math.max(1, X.shape[X.ndim - 2]! / X.shape[X.ndim - 1]!)) : 1;
        let v = P.mul(-lr * s);
        if (wd !== 0) v = X.mul(-lr * wd).add(v);
        out[p.path] = v;
      }
      return [out, next];
    },
    learningRates: (state) => inner.learningRates?.(state.base) ?? {},
  };
}

/** Default decays of the built-in rules, for a base whose hyper omits weightDecay. */
const DEFAULT_DECAY: Readonly<Record<string, number>> = {
  adamw: ADAMW_DEFAULTS.weightDecay, sgd: SGD_DEFAULTS.weightDecay, lion: LION_DEFAULTS.weightDecay, adabelief: ADABELIEF_DEFAULTS.weightDecay, root: ROOT_DEFAULTS.weightDecay,
  swan: SWAN_DEFAULTS.weightDecay, muon: MUON_DEFAULTS.weightDecay, rownorm: ROWNORM_DEFAULTS.weightDecay, hybrid: HYBRID_DEFAULTS.weightDecay, polargrad: POLARGRAD_DEFAULTS.weightDecay,
};

/**
 * The base's decoupled decay λ: given explicitly, the built-in rule's default, or 0 for a rule
 * without `weightDecay`. Another rule that accepts weightDecay but whose table entry omits it must
 * say it; rules whose decay is not −lr·λ·X (coupled, fixed, Frank–Wolfe) cannot be unwound.
 */
function decayOf(rule: string, hyper: Hyper, create: (h: Hyper) => unknown): number {
  const given = hyper.weightDecay;
  if (rule === "sgd" && typeof given === "number" && given !== 0) throw new Error("spectra: sgd's weightDecay is coupled (added to the gradient), so the base direction cannot be recovered; use weightDecay 0 or a decoupled rule (adamw, lion)");
  if (rule === "adabelief" && (hyper.fixedDecay === true || hyper.decoupled === false) && typeof given === "number" && given !== 0) throw new Error("spectra: adabelief with fixedDecay or decoupled: false does not decay by lr·λ·X; use its default decoupled decay");
  if (rule === "scion" && hyper.unconstrained !== true) throw new Error("spectra: constrained scion decays by lr·X (Frank–Wolfe) with no weightDecay to unwind; wrap it with unconstrained: true");
  if (typeof given === "number") return given;
  if (given !== undefined) throw new Error(`spectra: base weightDecay must be a number, got ${JSON.stringify(given)}`);
  const known = DEFAULT_DECAY[rule];
  if (known !== undefined) return known;
  try {
    create({ ...hyper, weightDecay: 0 });
  } catch (e) {
    if (/unknown hyperparameter 'weightDecay'/.test((e as Error).message)) return 0;
    throw e;
  }
  throw new Error(`spectra: give base.hyper.weightDecay explicitly for '${rule}' (the wrapper recovers the base direction as U = −u/lr − weightDecay·θ, so it must know the decay; use 0 for none)`);
}
