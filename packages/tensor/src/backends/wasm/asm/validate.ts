// Debug-mode validation: WebAssembly.validate only says yes/no, so on failure we
// compile once more to get the engine's message and attach an instruction listing
// with the failing instruction marked.

import { parseErrorOffset } from "./trace.js";
import { wasmApi } from "./wasm-api.js";

export const DEBUG_ENV = "EQUIGRAD_DEBUG_WASM";

/**
 * Debug level from EQUIGRAD_DEBUG_WASM: 0 off; 1 (any truthy value) traces,
 * validates and prints the listing of modules that fail; 2 (or "all") also
 * prints the listing of every module built.
 */
export function debugLevelFromEnv(): 0 | 1 | 2 {
  const env = typeof process === "undefined" ? undefined : process.env?.[DEBUG_ENV];
  if (!env || env === "0" || env.toLowerCase() === "false") return 0;
  return env === "2" || env.toLowerCase() === "all" ? 2 : 1;
}

export class WasmValidationError extends Error {
  /** The engine's compile error message. */
  readonly engineMessage: string;
  /** Byte offset in the module the engine blamed, when it gave one. */
  readonly offset: number | undefined;
  readonly listing: string;

  constructor(engineMessage: string, offset: number | undefined, listing: string) {
    super(`invalid WebAssembly module: ${engineMessage}\n${listing}`);
    this.name = "WasmValidationError";
    this.engineMessage = engineMessage;
    this.offset = offset;
    this.listing = listing;
  }
}

/** The engine's reason for rejecting `bytes`, or null when they are valid. */
export function validationError(bytes: Uint8Array): string | null {
  const api = wasmApi();
  if (api.validate(bytes)) return null;
  try {
    new api.Module(bytes);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return "WebAssembly.validate() returned false";
}

/**
 * Throws WasmValidationError (with `listing(offset)` appended) if the engine rejects
 * `bytes`; optionally prints the error to stderr first, since errors thrown in
 * worker threads are easy to lose.
 */
export function assertValid(bytes: Uint8Array, listing: (errorOffset?: number) => string, print = false): void {
  const message = validationError(bytes);
  if (message === null) return;
  const offset = parseErrorOffset(message);
  const err = new WasmValidationError(message, offset, listing(offset));
  if (print) console.error(err.message);
  throw err;
}
