import { OpError, Tensor, treeFlatten, isFloat, onesLike, tidy, treePaths, treeUnflatten, zerosLike, type Tree } from "@equigrad/tensor";
import { backward } from "./backward.js";
import { Tape } from "./tape.js";

export interface GradOptions {
  /** Which positional arguments to differentiate (default 0). An array gives a tuple of gradients. */
  argnums?: number | readonly number[];
  /** f returns [loss, aux]; aux is passed through untouched. */
  hasAux?: boolean;
}

type Fn = (...args: any[]) => unknown;

function leavesOf(args: unknown[], argnums: readonly number[]): Tensor[][] {
  return argnums.map((a, i) => {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) throw new OpError("grad", `argnums ${a} is out of range: the function was called with ${args.length} arguments`);
    // A repeated entry would hand f only the last copy's leaves, leaving the others a zero gradient.
    if (argnums.indexOf(a) !== i) throw new OpError("grad", `argnums [${argnums}] repeats ${a}; list each argument once`);
    const tree = args[a] as Tree<unknown>;
    const [leaves] = treeFlatten(tree);
    const paths = treePaths(tree);
    leaves.forEach((l, i) => {
      if (!(l instanceof Tensor)) throw new OpError("grad", `argument ${a} has a non-tensor leaf at '${paths[i] || "<root>"}'; differentiated arguments must hold only tensors`);
      if (!isFloat(l.dtype)) throw new OpError("grad", `argument ${a} has a ${l.dtype} leaf at '${paths[i] || "<root>"}'; only float tensors can be differentiated: pass integer data in an argument not listed in argnums`);
    });
    return leaves as Tensor[];
  });
}

/**
 * Returns a function computing [f(...args), ∂f/∂args[argnums]]: the gradient has the tree
 * structure of the differentiated argument. f must return a scalar float tensor.
 * Everything the computation allocates is released except the value, aux and gradients.
 */
export function valueAndGrad<F extends Fn>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => [any, any] {
  const { argnums = 0, hasAux = false } = opts;
  const nums = typeof argnums === "number" ? [argnums] : [...argnums];
  return (...args) =>
    tidy(() => {
      // Each differentiated leaf enters as a fresh value (an identity view), so a tensor
      // passed in two places gets two separate gradients, and outer tapes still see through.
      const defs = nums.map((a) => treeFlatten(args[a] as Tree<unknown>)[1]);
      const leaves = leavesOf(args, nums).map((ls) => ls.map((l) => l.reshape([...l.shape])));
      const callArgs = [...args];
      nums.forEach((a, i) => (callArgs[a] = treeUnflatten(defs[i]!, leaves[i]!)));
      const tape = new Tape();
      try {
        for (const l of leaves.flat()) tape.watch(l);
        const result = tape.run(() => f(...callArgs));
        if (hasAux && !(Array.isArray(result) && result.length === 2)) {
          const got = result instanceof Tensor ? `a tensor of shape [${result.shape}]` : Array.isArray(result) ? `an array of ${result.length}` : typeof result;
          throw new OpError("grad", `with hasAux, f must return [loss, aux], got ${got}`);
        }
        const [value, aux] = hasAux ? (result as [unknown, unknown]) : [result, undefined];
        if (!(value instanceof Tensor) || value.size !== 1 || !isFloat(value.dtype)) {
          const got = value instanceof Tensor ? `a ${value.dtype} tensor of shape [${value.shape}]` : typeof value;
          throw new OpError("grad", `f must return a scalar float tensor${hasAux ? " as the first element of [loss, aux]" : ""}, got ${got}`);
        }
        const grads = backward(tape, value, onesLike(value));
        // One cotangent tensor can reach several leaves (x + y hands both the same one): give
        // each leaf its own handle, so disposing one gradient cannot free another.
        const handed = new Set<Tensor>([value]);
        const own = (g: Tensor): Tensor => {
          const t = handed.has(g) ? g.reshape([...g.shape]) : g;
          handed.add(t);
          return t;
        };
        const perArg = leaves.map((ls, i) => treeUnflatten(defs[i]!, ls.map((l) => own(grads.get(l.id) ?? zerosLike(l)))));
        const g = typeof argnums === "number" ? perArg[0] : perArg;
        return hasAux ? [[value, aux], g] : [value, g];
      } finally {
        tape.dispose();
      }
    });
}

/**
 * Returns a function computing ∂f/∂args[argnums] (see valueAndGrad); with hasAux it returns
 * [gradient, aux], as JAX does.
 */
export function grad<F extends Fn>(f: F, opts: GradOptions = {}): (...args: Parameters<F>) => any {
  const vg = valueAndGrad(f, opts);
  // The scope releases the value when valueAndGrad made it, and leaves it alone when f
  // returned a tensor it did not make (an argument, a captured constant).
  return (...args) =>
    tidy(() => {
      const [value, g] = vg(...args);
      return opts.hasAux ? [g, (value as [unknown, unknown])[1]] : g;
    });
}
