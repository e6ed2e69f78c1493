import { registerBackend } from "./backend/registry.js";
import { ReferenceBackend } from "./backends/reference/index.js";
import { WasmBackend } from "./backends/wasm/backend.js";

registerBackend("reference", () => new ReferenceBackend());
registerBackend("wasm", () => new WasmBackend({ threads: threadsFromEnv() }));

function threadsFromEnv(): number | undefined {
  const v = process.env.EQUIGRAD_THREADS;
  return v === undefined || v === "" ? undefined : Number(v);
}

export { Tensor, type TensorLike, type NestedArray } from "./tensor.js";
export type { DType, TypedArray } from "./core/dtype.js";
export { isFloat, promote } from "./core/dtype.js";
export { OpError } from "./core/errors.js";
export { broadcastShapes, numel, type Shape } from "./core/shape.js";
export type { Backend, MemoryStats } from "./backend/backend.js";
export type { DeviceBuffer, View } from "./backend/view.js";
export { registerBackend, setBackend, getBackend, withBackend, currentBackendName } from "./backend/registry.js";
export { ReferenceBackend } from "./backends/reference/index.js";
export { WasmBackend, type WasmBackendOptions } from "./backends/wasm/backend.js";
export { apply, applyFused, decomposed, pushInterceptor, popInterceptor, type Interceptor } from "./dispatch.js";
export {
  infer, kindOf, FUSED_OPS, ATTENTION_OPS, ACTIVATION_GRAD_OPS, NORM_GRAD_OPS, OPTIMIZER_OPS, type FusedOp, type AttentionOp, type ActivationGradOp, type NormGradOp, type OptimizerOp, type FusedName,
  type PrimitiveCall, type PrimitiveName, type CallOf, type Meta } from "./ops/primitives.js";
export { tidy, dispose } from "./memory/scope.js";
export { memoryStats } from "./memory/stats.js";
export { profile, formatProfile, type OpProfile } from "./profile.js";
export * from "./ops/creation.js";
export * from "./ops/elementwise.js";
export * from "./ops/reduce.js";
export * from "./ops/movement.js";
export * from "./ops/indexing.js";
export { matmul } from "./ops/linalg.js";
export { softmax, logSoftmax } from "./composite/softmax.js";
export { DECOMPOSITIONS, fused } from "./composite/fused.js";
export { crossEntropy, type CrossEntropyOptions } from "./composite/loss.js";
export { adamwUpdate, lerp } from "./composite/optimizer.js";
export { layerNorm, rmsNorm } from "./composite/norm.js";
export { scaledDotProductAttention, type AttentionOptions } from "./composite/attention.js";
export { Rng } from "./random/rng.js";
export { threefry2x32, randomWords, uniformFromWords } from "./random/threefry.js";
export { treeFlatten, treeUnflatten, treeMap, treePaths, type Tree, type TreeDef } from "./tree.js";
export type { Graph, GraphNode, ValueInfo, Port, Constant } from "./graph/ir.js";
export { trace, isTracing, Recorder, type Traced, type TraceOptions, type InputSpec } from "./graph/trace.js";
export { TraceError, SymbolicBackend } from "./graph/symbolic.js";
export { evaluateGraph } from "./graph/evaluate.js";
export { lowerToOnnx, lowerGraph, lowerInto, lowerCall, modelOf, valueInfo, DEFAULT_OPSET, IR_VERSION, type LowerOptions } from "./graph/onnx/lower.js";
export { GraphBuilder, attr as onnxAttr, onnxType, tensorP, type Val } from "./graph/onnx/builder.js";
export { encodeModel, encodeGraph, ONNX_TYPE, type ModelP, type GraphP, type NodeP, type TensorP, type ValueInfoP, type AttributeP, type OnnxType } from "./graph/onnx/proto.js";
export { OnnxSession, type SessionOptions, type PortInfo } from "./graph/onnx/session.js";
export { ensureProvider, ProviderError, cudaInstallHint, PROVIDERS, type Provider } from "./graph/onnx/providers.js";
export type { StepFunction } from "./graph/step-graph.js";
export { compile, type CompileOptions, type CompiledStep, type StepOutputs, type CallTimings } from "./graph/compile.js";
