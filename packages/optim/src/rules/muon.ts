import { concat, stack, zerosLike, type Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { headLayoutOf, mergeHeads, newtonSchulz, splitHeads, type Coefficients, type Orientation } from "../linalg/index.js";
import { initPerParam, slot, updateEach, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";
import { lerp } from "./lerp.js";
import { checkMatrixParam, pickCoefficients } from "./matrix-hyper.js";
import { pickChoices } from "./choice.js";

export type MuonScale = "keller" | "moonshot" | "none";

export interface MuonOptions {
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  /** EMA momentum m ← lerp(m, g, 1−μ), Nesterov lerp(g, m, μ) (Keller's muon.py, torch.optim.Muon's code) instead of SGD's m ← μm + g, g + μm. */
  ema?: boolean;
  weightDecay?: number;
  nsSteps?: number;
  coefficients?: Coefficients;
  /** keller: max(1, rows/cols)^½; moonshot: 0.2·√max(rows, cols); none: 1 — of each block orthogonalized. */
  scale?: MuonScale;
  /** Orthogonalize attention weights per head (needs param.meta.heads); other parameters whole. */
  perHead?: boolean;
  /** Pair layouts split a fused gate/up stack and orthogonalize each half (muon_experts.py); row/col: whole. */
  orientation?: Orientation;
  schedule?: ScheduleSpec | Schedule;
}

/**
 * Defaults: MuonHeadsPolarExpress as the Lau–Su stack runs it (SGD momentum 0.95 with Nesterov, Polar
 * Express 5 steps, Keller's shape scale, per head) with Keller's lr 0.02 and wd 0. torch.optim.Muon:
 * { ema: true, coefficients: "keller", perHead: false, lr: 1e-3, weightDecay: 0.1 }; Moonlight:
 * { coefficients: "keller", scale: "moonshot", perHead: false, lr: 1e-3, weightDecay: 0.1 }.
 */
export const MUON_DEFAULTS = { lr: 0.02, momentum: 0.95, nesterov: true, ema: false, weightDecay: 0, nsSteps: 5, perHead: true, schedule: { kind: "constant" } } as const;

const scaleOf = (kind: MuonScale, rows: number, cols: number): number =>
  kind === "keller" ? Math.sqrt(Math.max(1, rows / cols)) : kind === "moonshot" ? 0.2 * Math.sqrt(Math.max(rows, cols)) : 1;

/** scale · NS(x) per matrix of x (the scale of the block actually orthogonalized). */
function orthogonalizeBlocks(x: Tensor, o: { coefficients: Coefficients; steps: number; scale: MuonScale }): Tensor {
  const s = scaleOf(o.scale, x.shape[x.ndim - 2]!, x.shape[x.ndim - 1]!);
  const O = newtonSchulz(x, { coefficients: o.coefficients, steps: o.steps });
  return s === 1 ? O : O.mul(s);
}

/**
 * Muon's orthogonalized direction for one parameter: per head for attention weights with a head
 * layout, per expert for 3-D stacks (batched), gate and up halves apart for the pair layouts.
 */
export function muonDirection(v: Tensor, p: Param, o: { coefficients: Coefficients; steps: number; scale: MuonScale; perHead: boolean; orientation: Orientation }): Tensor {
  const heads = o.perHead && v.ndim === 2 ? headLayoutOf(p.meta) : undefined;
  if (heads !== undefined) return mergeHeads(orthogonalizeBlocks(splitHeads(v, heads), o), heads);
  const lead = v.shape.slice(0, -2).map(() => null);
  const [r, c] = v.shape.slice(-2) as [number, number];
  if (o.orientation === "gpt_oss_gate_up_pair") {
    if (c % 2 !== 0) throw new Error(`muon: '${p.path}' of shape [${v.shape.join(", ")}] has an odd column count; gpt_oss_gate_up_pair interleaves gate and up columns`);
    const gate = orthogonalizeBlocks(v.slice(...lead, null, [0, undefined, 2]), o);
    const up = orthogonalizeBlocks(v.slice(...lead, null, [1, undefined, 2]), o);
    return stack([gate, up], -1).reshape([...v.shape]);
  }
  if (o.orientation === "olmoe_gate_up_pair") {
    if (r % 2 !== 0) throw new Error(`muon: '${p.path}' of shape [${v.shape.join(", ")}] has an odd row count; olmoe_gate_up_pair stacks gate rows over up rows`);
    const gate = orthogonalizeBlocks(v.slice(...lead, [0, r / 2]), o);
    const up = orthogonalizeBlocks(v.slice(...lead, [r / 2, r]), o);
    return concat([gate, up], -2);
  }
  return orthogonalizeBlocks(v, o);
}

/**
 * Muon (OPTIMIZERS.md §1.3e, §2):
 *   SGD form: b ← μb + g;  v = g + μb (Nesterov) or b        EMA form: b ← lerp(b, g, 1−μ); v = lerp(g, b, μ) or b
 *   O = scale · NS(v)  (per head / expert / gate-up half)
 *   p ← p(1 − lr_t·wd);  p ← p − lr_t·O                       (decay with the unscaled lr)
 */
export function muon(options: MuonOptions | Hyper = {}): Transform<PerParamState> {
  const [modes, rest0] = pickChoices("muon", options as Hyper, { scale: ["keller", "moonshot", "none"], orientation: ["row", "col", "gpt_oss_gate_up_pair", "olmoe_gate_up_pair"] } as const, { scale: "keller", orientation: "row" });
  const [coefficients, rest] = pickCoefficients("muon", rest0, "polar_express");
  const h = readHyper("muon", rest, MUON_DEFAULTS);
  check("muon", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("muon", h.momentum >= 0 && h.momentum < 1, `momentum must be in [0, 1), got ${h.momentum}`);
  check("muon", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("muon", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  const mu = h.momentum;
  const o = { coefficients, steps: h.nsSteps, scale: modes.scale, perHead: h.perHead, orientation: modes.orientation };
  const lrAt = (count: number): number => h.lr * h.schedule(count);

  return {
    name: "muon",
    init: (params) =>
      initPerParam("muon", params, (p): Slots => {
        checkMatrixParam("muon", p.path, p.value.shape);
        if (h.perHead && p.value.ndim === 2) {
          const l = headLayoutOf(p.meta);
          if (l !== undefined) splitHeads(p.value, l); // fails now, naming the parameter's layout, rather than mid-step
        }
        return { momentum_buffer: zerosLike(p.value) };
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach("muon", grads, state, params, (p, g, s) => {
        const old = slot("muon", s, p.path, "momentum_buffer");
        const b = h.ema ? lerp(old, g, 1 - mu) : old.mul(mu).add(g);
        const v = !h.nesterov ? b : h.ema ? lerp(g, b, mu) : g.add(b.mul(mu));
        let u = muonDirection(v, p, o).mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        return [u, { momentum_buffer: b }];
      });
    },
    learningRates: (state) => ({ muon: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
