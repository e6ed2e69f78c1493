import type { Hyper } from "../hyper.js";
import type { Match } from "../partition.js";
import type { RoleSchedule } from "./schedules.js";

/**
 * A rule with its hyperparameters as a ready table gives them. `schedule` names the role's
 * schedule shape (filled in with the run's length when the table is built); "base" takes the
 * config's shared schedule. `inherit` lists fields taken from the config's shared AdamW
 * settings (optim.lr, betas, eps, weightDecay), so the `adamw` table follows them.
 */
export interface RuleChoice {
  readonly rule: string;
  readonly hyper: Hyper;
  readonly schedule: RoleSchedule | "base";
  readonly inherit?: readonly ("lr" | "betas" | "eps" | "weightDecay")[];
}

/** One row of a ready table: a fixed rule, or a variant slot (e.g. `router`) and the rule of each variant. */
export interface EntryTemplate {
  /** Labels the entry's state, logged lr and metrics; `optim.overrides.<name>` addresses it. */
  readonly name: string;
  readonly match: Match;
  readonly use: RuleChoice | { readonly slot: string; readonly options: Readonly<Record<string, RuleChoice>> };
}

export interface NamedTable {
  readonly name: string;
  readonly description: string;
  readonly entries: readonly EntryTemplate[];
  /** Variant slots and the variant each takes unless the config chooses. */
  readonly defaults: Readonly<Record<string, string>>;
}

// Hyperparameters shared by the Lau–Su rules (§1.2, §1.4): EMA momentum 0.95, ε = 1e-8, α = 1.
const LS = { beta: 0.95, eps: 1e-8 } as const;
const NU = { alpha: 1 } as const;
/** 1-D parameters, every preset: RMSNorm/LayerNorm gains, biases, scalars. */
const ONE_D: Match = { roles: ["norm", "bias", "scalar"] };
const adamwPaper = (lr: number, weightDecay: number, schedule: RoleSchedule): RuleChoice => ({ rule: "adamw", hyper: { lr, betas: [0.9, 0.95], eps: 1e-8, weightDecay }, schedule });
const rownorm = (lr: number, center: boolean, orientation: "row" | "col", weightDecay = 0): RuleChoice => ({ rule: "rownorm", hyper: { lr, ...LS, weightDecay, center, orientation }, schedule: "matrix" });
const hybrid = (lr: number, center: boolean, orientation: "row" | "col", weightDecay = 0, left = false): RuleChoice => ({
  rule: "hybrid",
  hyper: { lr, ...LS, ...NU, weightDecay, center, orientation, order: "row_then_polar", left },
  schedule: "matrix",
});
const right = (lr: number, center: boolean): RuleChoice => ({ rule: "right_polar", hyper: { lr, ...LS, ...NU, weightDecay: 0, center }, schedule: "matrix" });
const left = (lr: number, center: boolean): RuleChoice => ({ rule: "left_polar", hyper: { lr, ...LS, ...NU, weightDecay: 0, center }, schedule: "matrix" });
/** Muon as the reference's MuonHeadsPolarExpress (§1.3e): SGD momentum 0.95 + Nesterov, Keller's shape scale. */
const muon = (lr: number, opts: { perHead: boolean; coefficients: "polar_express" | "keller" }): RuleChoice => ({
  rule: "muon",
  hyper: { lr, momentum: 0.95, nesterov: true, weightDecay: 1e-3, scale: "keller", ...opts },
  schedule: "matrix",
});

/**
 * Learning rates for the byte-level presets (vocab 256, d 128–384, runs of a few hundred steps).
 * The reference runs' values are for 0.6–1B models with 50k–260k vocabularies and do not carry
 * over, so only some ratios are kept (hybrid at 2× row-norm on embedding/head, one router lr for
 * every router rule, 1-D AdamW at the AdamW lr). The sizes give early update RMS near AdamW's at
 * its lr 3e-3 on llama-small (a row-norm step of lr moves a row of d entries by lr: RMS lr/√d ≈
 * 2.6e-3 for lr 0.05, d 384), as a 30-step pilot measured. Row-aware MLP (and expert) matrices
 * take 0.01, not the reference's Muon lr: at 0.05 llama-small trained unstably (val 2.74 vs
 * AdamW's 2.45 after 100 steps) and at 0.01 reached 2.42 — every neuron row moves by lr each
 * step, so when the momentum is nearly rank one the step's spectral norm is √rows times Muon's.
 */
export const SYMMETRY_LR = { embed: 0.1, lmHead: 0.05, matrix: 0.05, rowMlp: 0.01, router: 2e-3, other: 3e-3 } as const;
/** modded-nanogpt's Muon lr (0.05) and the AdamW lr of the baseline. */
export const MUON_LR = { adam: 3e-3, matrix: 0.05, other: 3e-3 } as const;

/** The SwiGLU variants: row-aware gate/up ("row"), column-aware down ("col"), or Muon / AdamW. */
const mlpOptions = (orientation: "row" | "col"): Readonly<Record<string, RuleChoice>> => ({
  rownorm: rownorm(SYMMETRY_LR.rowMlp, false, orientation, 1e-3),
  hybrid: hybrid(SYMMETRY_LR.rowMlp, false, orientation, 1e-3),
  muon: muon(SYMMETRY_LR.matrix, { perHead: false, coefficients: "polar_express" }),
  adamw: adamwPaper(MUON_LR.adam, 1e-3, "matrix"),
});

/** Lau & Su's default stack (OPTIMIZERS.md §1.4–1.5). */
export const SYMMETRY: NamedTable = {
  name: "symmetry",
  description: "symmetry-compatible stack (Lau & Su): row-norm embedding, centered row-norm LM head, per-head Muon attention, row/column-aware SwiGLU, centered router, per-expert Muon, AdamW (0.9, 0.95) on 1-D",
  defaults: { embed: "rownorm", lmHead: "rownorm", mlp: "rownorm", router: "rownorm", experts: "muon" },
  entries: [
    // A tied table (gpt2) has role embed: it is routed here, uncentered, because the shared
    // logit shift W → W + 1cᵀ is no symmetry of a weight that also embeds the input tokens.
    {
      name: "embed",
      match: { roles: ["embed"] },
      use: {
        slot: "embed",
        options: { rownorm: rownorm(SYMMETRY_LR.embed, false, "row"), right: right(SYMMETRY_LR.embed, false), hybrid: hybrid(2 * SYMMETRY_LR.embed, false, "row"), adamw: adamwPaper(MUON_LR.adam, 0, "matrix") },
      },
    },
    {
      name: "lm_head",
      match: { roles: ["lm_head"] },
      use: {
        slot: "lmHead",
        options: { rownorm: rownorm(SYMMETRY_LR.lmHead, true, "row"), right: right(SYMMETRY_LR.lmHead, true), hybrid: hybrid(2 * SYMMETRY_LR.lmHead, true, "row"), adamw: adamwPaper(MUON_LR.adam, 0, "matrix") },
      },
    },
    { name: "attn", match: { roles: ["attn.*"] }, use: muon(SYMMETRY_LR.matrix, { perHead: true, coefficients: "polar_express" }) },
    {
      name: "mlp_in",
      match: { roles: ["mlp.gate", "mlp.up"] },
      use: {
        slot: "mlp",
        options: mlpOptions("row"),
      },
    },
    {
      name: "mlp_down",
      match: { roles: ["mlp.down"] },
      use: {
        slot: "mlp",
        options: mlpOptions("col"),
      },
    },
    {
      name: "router",
      match: { roles: ["moe.router"] },
      use: {
        slot: "router",
        // The reference runs use one router lr for every choice (§1.5).
        options: { rownorm: rownorm(SYMMETRY_LR.router, true, "row"), left: left(SYMMETRY_LR.router, true), hybrid: hybrid(SYMMETRY_LR.router, true, "row", 0, true), adamw: adamwPaper(SYMMETRY_LR.router, 0, "matrix") },
      },
    },
    {
      name: "experts_in",
      match: { roles: ["moe.expert.gate", "moe.expert.up"] },
      use: {
        slot: "experts",
        options: {
          muon: muon(SYMMETRY_LR.matrix, { perHead: false, coefficients: "polar_express" }),
          rownorm: rownorm(SYMMETRY_LR.rowMlp, false, "row", 1e-3),
          hybrid: hybrid(SYMMETRY_LR.rowMlp, false, "row", 1e-3),
          adamw: adamwPaper(MUON_LR.adam, 1e-3, "matrix"),
        },
      },
    },
    {
      name: "experts_down",
      match: { roles: ["moe.expert.down"] },
      use: {
        slot: "experts",
        options: {
          muon: muon(SYMMETRY_LR.matrix, { perHead: false, coefficients: "polar_express" }),
          rownorm: rownorm(SYMMETRY_LR.rowMlp, false, "col", 1e-3),
          hybrid: hybrid(SYMMETRY_LR.rowMlp, false, "col", 1e-3),
          adamw: adamwPaper(MUON_LR.adam, 1e-3, "matrix"),
        },
      },
    },
    { name: "other", match: ONE_D, use: adamwPaper(SYMMETRY_LR.other, 1e-3, "other") },
  ],
};

/** modded-nanogpt style: Muon (Keller's coefficients, whole matrices) on hidden matrices, AdamW elsewhere. */
export const MUON: NamedTable = {
  name: "muon",
  description: "Muon on hidden matrices (attention, MLP, experts; whole matrices, Keller's coefficients), AdamW (0.9, 0.95) on embedding, LM head, router and 1-D",
  defaults: {},
  entries: [
    { name: "embed", match: { roles: ["embed"] }, use: adamwPaper(MUON_LR.adam, 0, "matrix") },
    { name: "lm_head", match: { roles: ["lm_head"] }, use: adamwPaper(MUON_LR.adam, 0, "matrix") },
    { name: "matrix", match: { roles: ["attn.*", "mlp.*", "moe.expert.*"] }, use: muon(MUON_LR.matrix, { perHead: false, coefficients: "keller" }) },
    // Commit e86fd7d of the reference keeps router weights out of Muon.
    { name: "router", match: { roles: ["moe.router"] }, use: adamwPaper(MUON_LR.adam, 0, "matrix") },
    { name: "other", match: ONE_D, use: adamwPaper(MUON_LR.other, 1e-3, "other") },
  ],
};

const base = (weightDecay: boolean): RuleChoice => ({
  rule: "adamw",
  hyper: weightDecay ? {} : { weightDecay: 0 },
  schedule: "base",
  inherit: weightDecay ? ["lr", "betas", "eps", "weightDecay"] : ["lr", "betas", "eps"],
});

/**
 * The AdamW baseline, one entry per role so every role is logged apart. It takes the config's
 * shared AdamW settings (optim.lr, betas, eps, weightDecay, schedule), with decay on matrices
 * only (nanoGPT): this is the table the built-in config always used, split by role, so its
 * results are unchanged.
 */
export const ADAMW: NamedTable = {
  name: "adamw",
  description: "AdamW everywhere with the config's optim.lr/betas/eps/schedule; weight decay on attention, MLP, expert, router and LM-head matrices",
  defaults: {},
  entries: [
    { name: "embed", match: { roles: ["embed"] }, use: base(false) },
    { name: "lm_head", match: { roles: ["lm_head"] }, use: base(true) },
    { name: "matrix", match: { roles: ["attn.*", "mlp.*", "moe.expert.*"] }, use: base(true) },
    { name: "router", match: { roles: ["moe.router"] }, use: base(true) },
    { name: "other", match: ONE_D, use: base(false) },
  ],
};

export const TABLES: Readonly<Record<string, NamedTable>> = { symmetry: SYMMETRY, adamw: ADAMW, muon: MUON };
