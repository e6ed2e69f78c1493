import { Tensor } from "./tensor.js";

/** Nested arrays and plain objects with tensors (or other values) at the leaves, as in JAX pytrees. */
export type Tree<T = Tensor> = T | readonly Tree<T>[] | { readonly [key: string]: Tree<T> };

/** How to rebuild a tree from its leaves. */
export type TreeDef = { kind: "leaf" } | { kind: "array"; items: TreeDef[] } | { kind: "object"; keys: string[]; items: TreeDef[] };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !(v instanceof Tensor) && Object.getPrototypeOf(v) === Object.prototype;

/** Leaves in a fixed order (arrays by index, objects by insertion order of keys). */
export function treeFlatten<T>(tree: Tree<T>): [T[], TreeDef] {
  const leaves: T[] = [];
  const walk = (t: Tree<T>): TreeDef => {
    if (Array.isArray(t)) return { kind: "array", items: t.map(walk) };
    if (isPlainObject(t)) {
      const keys = Object.keys(t);
      return { kind: "object", keys, items: keys.map((k) => walk(t[k] as Tree<T>)) };
    }
    leaves.push(t as T);
    return { kind: "leaf" };
  };
  const def = walk(tree);
  return [leaves, def];
}

export function treeUnflatten<T>(def: TreeDef, leaves: readonly T[]): Tree<T> {
  let i = 0;
  const build = (d: TreeDef): Tree<T> => {
    if (d.kind === "leaf") return leaves[i++]!;
    if (d.kind === "array") return d.items.map(build);
    return Object.fromEntries(d.keys.map((k, j) => [k, build(d.items[j]!)]));
  };
  const out = build(def);
  if (i !== leaves.length) throw new Error(`treeUnflatten: ${leaves.length} leaves for a tree of ${i}`);
  return out;
}

/** Applies fn leaf by leaf to one or more trees of the same structure. */
export function treeMap<T, U>(fn: (...leaves: T[]) => U, tree: Tree<T>, ...rest: Tree<T>[]): Tree<U> {
  const [leaves, def] = treeFlatten(tree);
  const others = rest.map((r) => treeFlatten(r)[0]);
  for (const o of others) if (o.length !== leaves.length) throw new Error(`treeMap: trees have ${leaves.length} and ${o.length} leaves`);
  return treeUnflatten(def, leaves.map((l, i) => fn(l, ...others.map((o) => o[i]!))));
}

/** Dotted paths of every leaf ("blocks.0.weight"), in treeFlatten order. */
export function treePaths<T>(tree: Tree<T>, prefix = ""): string[] {
  if (Array.isArray(tree)) return tree.flatMap((t, i) => treePaths(t, prefix ? `${prefix}.${i}` : `${i}`));
  if (isPlainObject(tree)) return Object.keys(tree).flatMap((k) => treePaths(tree[k] as Tree<T>, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}
