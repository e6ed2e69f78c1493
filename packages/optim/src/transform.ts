import type { Tensor } from "@equigrad/tensor";

/**
 * A trainable tensor as the optimizer sees it. The role is given by the module that made the
 * parameter (never guessed from its shape); `meta` carries facts such as an attention head
 * layout that a rule may read. nn's NamedParameter fits this shape.
 */
export interface Param {
  readonly path: string;
  readonly role: string;
  readonly value: Tensor;
  readonly meta?: unknown;
}

/** Gradients (or updates) keyed by parameter path, never by position. */
export type Grads = Readonly<Record<string, Tensor>>;

/** What gets added to each parameter (Optax convention: `p ← p + u`). */
export type Updates = Record<string, Tensor>;

/**
 * Optimizer state: a tree of plain objects and arrays with tensors and numbers (step counts)
 * at the leaves. Plain data so that `tidy` sees every tensor, `step` can commit it in place,
 * and records can key it by path.
 */
export type State = Tensor | number | readonly State[] | { readonly [key: string]: State };

/**
 * A pure gradient transformation in the Optax style: `init` builds the state, `update` maps
 * gradients to updates and returns the next state without touching its inputs. Rules,
 * clipping, `chain` and `partition` are all transforms, so they compose freely.
 */
export interface Transform<S extends State = State> {
  /** Short name; the key of the lr it reports in `learningRates`. */
  readonly name: string;
  init(params: readonly Param[]): S;
  update(grads: Grads, state: S, params: readonly Param[]): [Updates, S];
  /** The learning rate each part applied in its latest update (the first one's before any). */
  learningRates?(state: S): Record<string, number>;
}

/** A map from path to parameter, failing on duplicates so that paths can key everything. */
export function byPath(params: readonly Param[]): Map<string, Param> {
  const out = new Map<string, Param>();
  for (const p of params) {
    if (out.has(p.path)) throw new Error(`optim: two parameters share the path '${p.path}'; paths key gradients and optimizer state, so they must be unique`);
    out.set(p.path, p);
  }
  return out;
}

/** The gradient for `path`, or an error naming it. */
export function gradOf(grads: Grads, path: string, who: string): Tensor {
  const g = grads[path];
  if (g === undefined) throw new Error(`${who}: no gradient for parameter '${path}'`);
  return g;
}

/**
 * Whether a state leaf is a tensor. Duck-typed rather than `instanceof`, so state made by
 * another bundled copy of @equigrad/tensor (each package's dist inlines one) still counts.
 */
export const isTensor = (v: unknown): v is Tensor =>
  typeof v === "object" && v !== null && typeof (v as Tensor).assign === "function" && Array.isArray((v as Tensor).shape);
