// Public API of the WebAssembly assembler used to generate SIMD kernels at runtime.
//
//   const m = new ModuleBuilder({ debug: true });            // or EQUIGRAD_DEBUG_WASM=1
//   m.importMemory("env", "memory", { initial: 1, maximum: 1024, shared: true });
//   m.func({ name: "scale", params: ["i32", "f32"], export: true }, (f) => {
//     f.local.get(0).local.get(0).v128.load().local.get(1).f32x4.splat().f32x4.mul().v128.store();
//   });
//   const { exports } = m.instantiate({ env: { memory } });   // or m.compile() -> post to a worker

export { ModuleBuilder } from "./module-builder.js";
export type { FunctionOptions, ModuleOptions } from "./module-builder.js";
export { FunctionBuilder } from "./function-builder.js";
export type { BranchTarget, FinishedBody, LocalNs } from "./function-builder.js";
export type {
  AtomicNs, Emitter, F32Ns, F32x4Ns, F64Ns, F64x2Ns, I16x8Ns, I32Ns, I32x4Ns, I64Ns, I64x2Ns, I8x16Ns,
  MemArg, MemoryNs, Namespaces, V128Ns,
} from "./namespaces.js";
export type { BlockType, FuncSig, MemoryLimits, ValType } from "./types.js";
export { MAX_PAGES, PAGE_BYTES, VALTYPE_CODE } from "./types.js";
export {
  ByteWriter, decodeSLEB128, decodeULEB128, encodeS32, encodeS64, encodeU32, encodeU64,
} from "./encoding.js";
export * as opcodes from "./opcodes.js";
export { DEBUG_ENV, WasmValidationError, assertValid, debugLevelFromEnv, validationError } from "./validate.js";
export type { TraceEntry } from "./trace.js";
export { detectFeatures, featureProbe, hasRelaxedSimd, hasSimd128, hasThreads } from "./features.js";
export type { WasmFeature } from "./features.js";
export { maybeWasm, wasmApi } from "./wasm-api.js";
export type { WasmApi, WasmImports, WasmInstance, WasmMemory, WasmMemoryDescriptor, WasmModule } from "./wasm-api.js";
