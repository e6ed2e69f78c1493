import type { Tensor } from "@equigrad/tensor";
import { Parameter, type NamedParameter, type ParameterMeta } from "./parameter.js";
import type { Role } from "./roles.js";
import { loadState, type LoadStateOptions } from "./state-dict.js";

const NAME = /^[A-Za-z0-9_]+$/;

/**
 * A tree of named parameters and named child modules. Layers register what they own in
 * their constructor; the registration order gives every listing its deterministic order
 * (a module's own parameters first, then its children depth-first), and the names give the
 * dotted paths (`blocks.3.mlp.down.weight`).
 */
export abstract class Module {
  #params = new Map<string, Parameter>();
  #children = new Map<string, Module>();
  #training = true;

  get training(): boolean {
    return this.#training;
  }

  /** Registers a new parameter made from `value` (kept from now on). */
  protected addParameter(name: string, value: Tensor, role: Role, meta: ParameterMeta = {}): Parameter {
    return this.registerParameter(name, new Parameter(value, role, meta));
  }

  /** Registers an existing parameter under this module (a shared one is listed once, at its first path). */
  protected registerParameter(name: string, p: Parameter): Parameter {
    this.checkName(name);
    this.#params.set(name, p);
    return p;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.#children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (!NAME.test(name)) throw new Error(`${this.constructor.name}: '${name}' is not a valid name (letters, digits, _)`);
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`${this.constructor.name}: '${name}' is registered twice`);
  }

  /** Child modules with their paths, this module first (path ""). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Every parameter once, with its path, role, value and metadata, in registration order. */
  namedParameters(): NamedParameter[] {
    return this.#entries().map(([path, p]) => ({ path, role: p.role, value: p.value, meta: p.meta }));
  }

  /** @internal The Parameter objects by path (functionalCall and loading swap their values). */
  parameterObjects(): Map<string, Parameter> {
    return new Map(this.#entries());
  }

  #entries(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.#params) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([join(prefix, name), p]);
      }
    }
    return out;
  }

  /** The parameter values by path: the tree to differentiate and hand to `functionalCall`. */
  parameters(): Record<string, Tensor> {
    return Object.fromEntries(this.#entries().map(([path, p]) => [path, p.value]));
  }

  /** Total number of scalar parameters (a shared tensor counts once). */
  parameterCount(): number {
    return this.#entries().reduce((n, [, p]) => n + p.value.size, 0);
  }

  /** The values by path, for checkpoints (the live tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    return this.parameters();
  }

  /**
   * Copies values into the parameters by path. Checks everything first and throws one error
   * listing missing and unexpected keys and shape mismatches, so nothing is half-loaded.
   */
  loadStateDict(state: Record<string, Tensor>, opts: LoadStateOptions = {}): void {
    loadState(this.parameterObjects(), state, opts);
  }

  /** Training mode (dropout active) for this module and every child. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.#training = mode;
    return this;
  }

  /** Evaluation mode: dropout is the identity. */
  eval(): this {
    return this.train(false);
  }

  /** Releases every parameter's buffer; the module cannot be used afterwards. */
  dispose(): void {
    for (const [, p] of this.#entries()) p.dispose();
  }
}

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

/** Numbered children (`blocks.0`, `blocks.1`, ...). */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];

  constructor(items: readonly M[]) {
    super();
    items.forEach((m, i) => this.addModule(String(i), m));
    this.items = [...items];
  }

  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
