import { OpError, type Tensor } from "@equigrad/tensor";
import type { Role } from "./roles.js";
import { isRole } from "./roles.js";

/**
 * How an attention projection's rows (q, k, v: weight [heads·headDim, d]) or columns
 * (o: weight [d, heads·headDim]) split into heads, for per-head optimizers.
 */
export interface HeadLayout {
  heads: number;
  headDim: number;
  kind: "q" | "k" | "v" | "o";
}

/** Facts about a parameter that its shape and role do not say. */
export interface ParameterMeta {
  /** Head layout of an attention projection weight. */
  heads?: HeadLayout;
  /** Leading expert axis of a 3-D MoE tensor ([E, rows, cols]). */
  experts?: number;
  /** Other uses of this same tensor (a tied embedding is also the LM head). */
  tiedAs?: Role[];
}

/** A parameter as optimizers and checkpoints see it. */
export interface NamedParameter {
  path: string;
  role: Role;
  value: Tensor;
  meta: ParameterMeta;
}

/**
 * A trainable tensor owned by a module. The value is kept (it outlives every `tidy` scope)
 * and is swapped only by `functionalCall` or replaced in place by `assign`.
 */
export class Parameter {
  #value: Tensor;

  constructor(
    value: Tensor,
    readonly role: Role,
    readonly meta: ParameterMeta = {},
  ) {
    if (!isRole(role)) throw new Error(`Parameter: unknown role '${role}'`);
    this.#value = value.keep();
  }

  get value(): Tensor {
    return this.#value;
  }
  get shape(): readonly number[] {
    return this.#value.shape;
  }

  /**
   * @internal Puts `t` in place of the value and returns the old one, without keeping or
   * disposing anything: functionalCall swaps values for one call and swaps them back.
   */
  swap(t: Tensor): Tensor {
    if (t.ndim !== this.#value.ndim || t.shape.some((d, i) => d !== this.#value.shape[i])) {
      throw new OpError("Parameter", `value [${t.shape}] does not match the parameter's shape [${this.#value.shape}]`);
    }
    const old = this.#value;
    this.#value = t;
    return old;
  }

  /** Releases the value's buffer (the module is no longer used). */
  dispose(): void {
    this.#value.dispose();
  }
}
