import type { Grads, Param, State, Transform, Updates } from "./transform.js";

/**
 * Runs transforms one after another, each taking the previous one's updates (Optax `chain`).
 * The state is the array of the parts' states; records flatten arrays away, so the parts'
 * own keys (rule labels, paths) name their state, not their position in the chain.
 */
export function chain(...parts: readonly Transform[]): Transform<State[]> {
  return {
    name: "chain",
    init: (params) => parts.map((t) => t.init(params)),
    update(grads: Grads, state: State[], params: readonly Param[]): [Updates, State[]] {
      if (state.length !== parts.length) throw new Error(`chain: state has ${state.length} parts for ${parts.length} transforms`);
      let u: Grads = grads;
      const next = parts.map((t, i) => {
        const [out, s] = t.update(u, state[i]!, params);
        u = out;
        return s;
      });
      return [u as Updates, next];
    },
    learningRates(state: State[]): Record<string, number> {
      const out: Record<string, number> = {};
      parts.forEach((t, i) => Object.assign(out, t.learningRates?.(state[i]!) ?? {}));
      return out;
    },
  };
}
