import type { Tensor } from "@equigrad/tensor";
import { byPath, gradOf, type Grads, type Param, type Updates } from "./transform.js";

/** One parameter's state tensors by name (exp_avg, momentum_buffer, ...). */
export type Slots = Readonly<Record<string, Tensor>>;

/**
 * The state of a rule that keeps tensors per parameter: its step count and, under each
 * parameter's path, that parameter's slots. Records then read `adamw/count` and
 * `adamw/blocks.0.attn.q.weight/exp_avg`.
 */
export type PerParamState = { readonly count: number } & { readonly [path: string]: Slots | number };

/** Fresh state: count 0 and `make(p)` for each parameter. */
export function initPerParam(rule: string, params: readonly Param[], make: (p: Param) => Slots): PerParamState {
  const out: Record<string, Slots | number> = { count: 0 };
  for (const p of params) {
    // "count" is this layout's one reserved key; a real parameter path never is one word like it.
    if (p.path in out) throw new Error(`${rule}: parameter path '${p.path}' is ${p.path === "count" ? "reserved" : "repeated"}`);
    out[p.path] = make(p);
  }
  return out as PerParamState;
}

/** The slots of `path`, or an error naming what is missing. */
export function slotsOf(rule: string, state: PerParamState, path: string): Slots {
  const s = state[path];
  if (s === undefined || typeof s === "number") throw new Error(`${rule}: the state has no entry for parameter '${path}' (was it initialised with other parameters?)`);
  return s;
}

/** One slot tensor, or an error naming the path and slot. */
export function slot(rule: string, slots: Slots, path: string, name: string): Tensor {
  const t = slots[name];
  if (t === undefined) throw new Error(`${rule}: the state of '${path}' has no '${name}'`);
  return t;
}

/** The next state: count + 1 and the new slots. */
export function nextPerParam(state: PerParamState, slots: Record<string, Slots>): PerParamState {
  return { ...slots, count: state.count + 1 } as PerParamState;
}

/**
 * The update of a rule that works one parameter at a time: `one(p, g, slots)` returns the
 * parameter's update and its next slots. Walks the parameters by path, finds each gradient and
 * slot set (errors name what is missing) and counts the step.
 */
export function updateEach(rule: string, grads: Grads, state: PerParamState, params: readonly Param[], one: (p: Param, g: Tensor, slots: Slots) => readonly [Tensor, Slots]): [Updates, PerParamState] {
  const updates: Updates = {};
  const slots: Record<string, Slots> = {};
  for (const p of byPath(params).values()) {
    const [u, next] = one(p, gradOf(grads, p.path, rule), slotsOf(rule, state, p.path));
    updates[p.path] = u;
    slots[p.path] = next;
  }
  return [updates, nextPerParam(state, slots)];
}
