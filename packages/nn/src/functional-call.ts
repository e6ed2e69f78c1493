import type { Tensor } from "@equigrad/tensor";
import type { Module } from "./module.js";

/**
 * Runs fn with the module's parameters at the given paths replaced by the given tensors
 * (the others keep their values), then puts the originals back, as torch.func.functional_call.
 * This is how gradients reach a module: differentiate a function of the parameter record,
 *   valueAndGrad((p) => functionalCall(model, p, () => model.loss(x, y)))(model.parameters())
 * fn must be synchronous; what it returns must not be a tensor that was substituted in.
 */
export function functionalCall<T>(module: Module, params: Record<string, Tensor>, fn: () => T): T {
  const objects = module.parameterObjects();
  const unknown = Object.keys(params).filter((k) => !objects.has(k));
  if (unknown.length) throw new Error(`functionalCall: no parameter at ${unknown.map((k) => `'${k}'`).join(", ")} (the module has ${[...objects.keys()].join(", ")})`);
  const swapped: [string, Tensor][] = [];
  try {
    for (const [path, t] of Object.entries(params)) {
      try {
        swapped.push([path, objects.get(path)!.swap(t)]);
      } catch (e) {
        throw new Error(`functionalCall: '${path}': ${(e as Error).message}`);
      }
    }
    return fn();
  } finally {
    for (const [path, old] of swapped.reverse()) objects.get(path)!.swap(old);
  }
}
