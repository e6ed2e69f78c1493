import { WasmBackend, registerBackend, setBackend } from "@equigrad/tensor";
import type { Config } from "../config/schema.js";

/** Selects the config's backend; a thread count gives the wasm backend a pool of that size. */
export function useBackend(config: Config): void {
  const { name, threads } = config.backend;
  if (name === "wasm" && threads !== undefined) registerBackend("wasm", () => new WasmBackend({ threads }));
  setBackend(name);
}
