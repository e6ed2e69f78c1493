import type { Hyper } from "./hyper.js";
import type { Param, Transform } from "./transform.js";

/** What a rule's factory is told besides its hyperparameters. */
export interface RuleContext {
  /** The table entry's label: it keys the rule's state and logged lr. */
  readonly label: string;
  /** The parameters the entry matched (their roles, shapes and meta, e.g. head layouts). */
  readonly params: readonly Param[];
}

/** A named update rule that a partition table can use. */
export interface RuleSpec {
  /** Parameter ranks the rule accepts (matrix rules: [2, 3]); absent means any. */
  readonly ranks?: readonly number[];
  /** Builds the transform; throws (with the rule's name) on bad hyperparameters. */
  create(hyper: Hyper, ctx: RuleContext): Transform;
}

/**
 * Rule names to factories. The built-in registry (`rules`) has adamw and sgd; later rule
 * families (Muon, the symmetry-compatible stack) register themselves the same way.
 */
export class RuleRegistry {
  readonly #rules = new Map<string, RuleSpec>();

  register(name: string, spec: RuleSpec): this {
    if (this.#rules.has(name)) throw new Error(`rule registry: '${name}' is already registered`);
    this.#rules.set(name, spec);
    return this;
  }

  get(name: string): RuleSpec | undefined {
    return this.#rules.get(name);
  }

  names(): string[] {
    return [...this.#rules.keys()];
  }

  /** A copy to extend without changing this one (tests, experiments). */
  clone(): RuleRegistry {
    const r = new RuleRegistry();
    for (const [n, s] of this.#rules) r.register(n, s);
    return r;
  }
}
