/**
 * Scopes give automatic memory: every tensor made inside `tidy(fn)` is released when fn
 * returns, except the tensors found in its result and those marked with `keep`.
 * Tensors made outside any scope are released by a finalizer when garbage-collected
 * (a safety net: finalizers run late and never inside a synchronous loop).
 */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  readonly isKept: boolean;
  /** Called when the tensor leaves the last scope: from then on only a finalizer can free it. */
  unscoped(): void;
}

const stack: Set<Disposable>[] = [];

/** Called by every new tensor; false when no scope is open (the tensor needs a finalizer). */
export function track(t: Disposable): boolean {
  const scope = stack[stack.length - 1];
  scope?.add(t);
  return scope !== undefined;
}


/** Collects tensors reachable through arrays, plain objects and Maps. */
function collect(value: unknown, into: Set<Disposable>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (isDisposable(value)) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, seen);
}

const isDisposable = (v: object): v is Disposable =>
  typeof (v as Disposable).dispose === "function" && "isKept" in v;

/** Runs fn in a scope; see the module comment. fn must be synchronous. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) if (!t.isKept) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) throw new Error("tidy: fn returned a Promise; scopes only cover synchronous work");
  const escaping = new Set<Disposable>();
  collect(result, escaping);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (escaping.has(t)) {
      if (parent) parent.add(t);
      else t.unscoped();
    } else if (!t.isKept && !t.isDisposed) t.dispose();
  }
  return result;
}

/** Disposes every tensor found in a value (arrays, objects, Maps). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}
