import type { Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Role } from "../roles.js";
import { GPT2_STD } from "../init.js";
import { Linear, applyLinears } from "./linear.js";
import type { LayerOptions } from "./options.js";

export type Activation = "gelu" | "gelu_tanh" | "relu" | "silu";

export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case "gelu":
      return x.gelu("none");
    case "gelu_tanh":
      return x.gelu("tanh");
    case "relu":
      return x.relu();
    case "silu":
      return x.silu();
  }
}

export interface MLPOptions extends LayerOptions {
  /** Default `gelu_tanh` (GPT-2's "gelu_new"). */
  activation?: Activation;
  bias?: boolean;
  std?: number;
  /** Init std of the down projection (GPT-2 scales it down with depth). */
  outStd?: number;
  /** Roles of the two projections (default mlp.up / mlp.down: GPT-2's c_fc / c_proj). */
  roles?: { up?: Role; down?: Role };
}

/** down(act(up(x))): the classic transformer feed-forward. */
export class MLP extends Module {
  readonly up: Linear;
  readonly down: Linear;
  readonly activation: Activation;

  constructor(dModel: number, dFF: number, opts: MLPOptions) {
    super();
    const { rng, dtype, bias = false, std = GPT2_STD } = opts;
    this.activation = opts.activation ?? "gelu_tanh";
    this.up = this.addModule("up", new Linear(dModel, dFF, { rng: rng.fork("up"), dtype, bias, std, role: opts.roles?.up ?? "mlp.up" }));
    this.down = this.addModule("down", new Linear(dFF, dModel, { rng: rng.fork("down"), dtype, bias, std: opts.outStd ?? std, role: opts.roles?.down ?? "mlp.down" }));
  }

  forward(x: Tensor): Tensor {
    return this.down.forward(activate(this.up.forward(x), this.activation));
  }
}

export type GatedKind = "swiglu" | "geglu";

export interface GatedMLPOptions extends LayerOptions {
  /** swiglu: silu(gate)·up (LLaMA); geglu: gelu_tanh(gate)·up (Gemma). Default swiglu. */
  kind?: GatedKind;
  bias?: boolean;
  std?: number;
  outStd?: number;
}

export const gatedActivation = (kind: GatedKind): Activation => (kind === "swiglu" ? "silu" : "gelu_tanh");

/** down(act(gate(x)) · up(x)). */
export class GatedMLP extends Module {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  readonly kind: GatedKind;

  constructor(dModel: number, dFF: number, opts: GatedMLPOptions) {
    super();
    const { rng, dtype, bias = false, std = GPT2_STD } = opts;
    this.kind = opts.kind ?? "swiglu";
    const lin = (name: "gate" | "up" | "down", i: number, o: number, s: number): Linear =>
      this.addModule(name, new Linear(i, o, { rng: rng.fork(name), dtype, bias, std: s, role: `mlp.${name}` }));
    this.gate = lin("gate", dModel, dFF, std);
    this.up = lin("up", dModel, dFF, std);
    this.down = lin("down", dFF, dModel, opts.outStd ?? std);
  }

  forward(x: Tensor): Tensor {
    const [gate, up] = applyLinears(x, [this.gate, this.up]) as [Tensor, Tensor];
    return this.down.forward(activate(gate, gatedActivation(this.kind)).mul(up));
  }
}
