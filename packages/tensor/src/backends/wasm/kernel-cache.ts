import { wasmApi, type WasmMemory } from "./asm/index.js";
import type { Kernel } from "./pool.js";

/** Compiled kernels by structural key (op, dtypes, shapes, strides): each is built once. */
export class KernelCache {
  readonly #byKey = new Map<string, Kernel>();
  #nextId = 1;

  constructor(readonly memory: WasmMemory) {}

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string, build: () => Uint8Array): Kernel {
    let k = this.#byKey.get(key);
    if (!k) {
      const api = wasmApi();
      const module = new api.Module(build());
      const instance = new api.Instance(module, { env: { memory: this.memory } });
      k = { id: this.#nextId++, module, run: instance.exports.run as Kernel["run"] };
      this.#byKey.set(key, k);
    }
    return k;
  }
}
