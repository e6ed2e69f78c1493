import type { Backend } from "./backend.js";

const factories = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();
let current = "wasm";

/** Makes a backend available by name; created on first use. */
export function registerBackend(name: string, factory: () => Backend): void {
  factories.set(name, factory);
}

export function getBackend(name: string = current): Backend {
  let b = instances.get(name);
  if (!b) {
    const f = factories.get(name);
    if (!f) throw new Error(`unknown backend '${name}': registered backends are ${[...factories.keys()].join(", ")}`);
    b = f();
    instances.set(name, b);
  }
  return b;
}

/** Sets the backend that new tensors are created on. */
export function setBackend(name: string): void {
  getBackend(name);
  current = name;
}

export const currentBackendName = (): string => current;

/** Runs fn with another default backend. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = current;
  setBackend(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}
