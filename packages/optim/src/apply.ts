import { tidy, type Tensor } from "@equigrad/tensor";
import { clipGradNorm, globalNorm } from "./clip.js";
import { isTensor, type Grads, type Param, type State, type Transform, type Updates } from "./transform.js";

/** New parameters p + u (pure: the inputs are untouched). */
export function applyUpdates(params: readonly Param[], updates: Updates): Param[] {
  return params.map((p) => ({ ...p, value: p.value.add(updateFor(p, updates)) }));
}

export interface StepOptions {
  /** Clip gradients to this global L2 norm first (torch clip_grad_norm_). */
  maxGradNorm?: number;
  /** Return the pre-clip global gradient norm even without clipping. */
  gradNorm?: boolean;
}

export interface StepResult<S extends State> {
  state: S;
  /** Pre-clip global gradient norm (0-d), when clipping or asked for. */
  gradNorm?: Tensor;
}

/**
 * One optimizer step in place: computes the updates, then `assign`s the new values into the
 * parameter tensors and into the state's existing tensors, all inside `tidy`. Parameters and
 * state keep their tensor objects, every intermediate is released, and a loop of steps stays
 * flat in live buffers. The returned state holds the same tensors with the new counts; only
 * `gradNorm` escapes to the caller's scope (put the loop body in `tidy` to release it).
 */
export function step<S extends State>(optimizer: Transform<S>, params: readonly Param[], grads: Grads, state: S, opts: StepOptions = {}): StepResult<S> {
  return tidy(() => {
    let g = grads;
    let norm: Tensor | undefined;
    if (opts.maxGradNorm !== undefined) ({ grads: g, norm } = clipGradNorm(grads, opts.maxGradNorm));
    else if (opts.gradNorm) norm = globalNorm(grads);
    const [updates, next] = optimizer.update(g, state, params);
    // Every new value is computed before the first assign, so no update reads a new parameter.
    const values = params.map((p) => {
      const v = p.value.add(updateFor(p, updates));
      if (v.dtype !== p.value.dtype) throw new Error(`step: the update for '${p.path}' made ${p.value.dtype} into ${v.dtype}; rules must keep the parameter's dtype`);
      return v;
    });
    // State first: a new state leaf may be a parameter's current value, read before it changes.
    const owned = new Set(params.map((p) => p.value));
    const committed = commit(state, next, owned) as S;
    params.forEach((p, i) => p.value.assign(values[i]!));
    return norm ? { state: committed, gradNorm: norm } : { state: committed };
  });
}

/** The lr each part of the optimizer applied in its latest update, by label (for logs). */
export function currentLearningRates<S extends State>(optimizer: Transform<S>, state: S): Record<string, number> {
  return optimizer.learningRates?.(state) ?? {};
}

function updateFor(p: Param, updates: Updates): Tensor {
  const u = updates[p.path];
  if (u === undefined) throw new Error(`optim: no update for parameter '${p.path}'`);
  return u;
}

/**
 * Moves `next` into `old`: each new tensor is assigned into the old tensor at the same place
 * (so long-lived state keeps its objects); numbers are taken as they are. A tensor with no old
 * counterpart is kept, since the step's scope would otherwise free it.
 */
function commit(old: State | undefined, next: State, params: ReadonlySet<Tensor>): State {
  if (isTensor(next)) {
    if (isTensor(old) && params.has(old)) throw new Error("step: the optimizer state holds a parameter's own tensor; state must own its tensors");
    if (isTensor(old) && !old.isDisposed) return old === next ? old : old.assign(next);
    return next.keep();
  }
  if (typeof next === "number") return next;
  if (Array.isArray(next)) {
    const o = Array.isArray(old) ? (old as readonly State[]) : [];
    return next.map((n, i) => commit(o[i], n, params));
  }
  const o = old !== undefined && typeof old === "object" && !isTensor(old) && !Array.isArray(old) ? (old as { readonly [k: string]: State }) : {};
  return Object.fromEntries(Object.entries(next as { readonly [k: string]: State }).map(([k, n]) => [k, commit(o[k], n, params)]));
}
