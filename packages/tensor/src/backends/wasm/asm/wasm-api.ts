// Typed handle on the WebAssembly JS API. The repo compiles without lib.dom, so
// `WebAssembly` has no global typings; we type the subset we use locally rather
// than augmenting a global that other code (and esbuild's typings) also declare.

export interface WasmMemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

/** Opaque compiled module (structured-clonable to worker_threads). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance<E = Record<string, unknown>> {
  readonly exports: E;
}

export type WasmImports = Record<string, Record<string, unknown>>;

export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  readonly Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
}

/** The host's WebAssembly object, or undefined where there is none. */
export function maybeWasm(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

export function wasmApi(): WasmApi {
  const api = maybeWasm();
  if (!api) throw new Error("WebAssembly is not available in this JavaScript environment");
  return api;
}
