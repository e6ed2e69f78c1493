import { WasmBackend, registerBackend, setBackend } from "@equigrad/tensor";
import type { Config } from "../config/schema.js";

/**
 * Selects the config's backend; a thread count gives the wasm backend a pool of that size.
 * Backends are created once per registered name, so each thread count is registered under its
 * own name (re-registering "wasm" would not replace an instance already created).
 * With "onnx" the tensors live on wasm: the compiled step reads and writes them, and eval,
 * sampling and checkpoints run on them eagerly.
 */
export function useBackend(config: Config): void {
  const { threads } = config.backend;
  const name = config.backend.name === "onnx" ? "wasm" : config.backend.name;
  if (name === "wasm" && threads !== undefined) {
    const key = `wasm-threads-${threads}`;
    registerBackend(key, () => new WasmBackend({ threads }));
    setBackend(key);
  } else setBackend(name);
}
