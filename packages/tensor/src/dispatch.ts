import { OpError, fmtShape } from "./core/errors.js";
import { contiguousStrides, numel } from "./core/shape.js";
import { expandLayout, permuteLayout, reshapeStrides, sliceLayout, type Layout } from "./core/strided.js";
import { getBackend } from "./backend/registry.js";
import type { Backend } from "./backend/backend.js";
import type { View } from "./backend/view.js";
import { Storage } from "./memory/storage.js";
import { infer, kindOf, type PrimitiveCall } from "./ops/primitives.js";
import { Tensor } from "./tensor.js";
import { profiling, recordOp } from "./profile.js";

/** Sees every primitive as it executes: the autograd tape and the graph tracer are interceptors. */
export interface Interceptor {
  record(call: PrimitiveCall, inputs: readonly Tensor[], output: Tensor): void;
  /** Whether it can handle this fused op as one node (a tracer may want only primitives). */
  acceptsFused?(call: PrimitiveCall): boolean;
  /** Substitutes inputs before dispatch: the tracer turns tensors of other backends into graph constants. */
  adopt?(inputs: readonly Tensor[]): readonly Tensor[];
  /**
   * Where a source op (no inputs) runs, when not on the default backend: the tracer records
   * random draws as graph nodes (a compiled step feeds their counters) instead of computing
   * them at trace time.
   */
  sourceBackend?(call: PrimitiveCall): Backend | undefined;
}

let interceptors: Interceptor[] = [];

export function pushInterceptor(i: Interceptor): void {
  interceptors = [...interceptors, i];
}

export function popInterceptor(i: Interceptor): void {
  if (interceptors[interceptors.length - 1] !== i) throw new Error("interceptors must be popped in reverse order of pushing");
  interceptors = interceptors.slice(0, -1);
}

/** What a backend sees of a tensor: its buffer through a layout (its own by default). */
const viewOf = (t: Tensor, l: Layout = t): View => ({ buffer: t.storage.buffer, dtype: t.dtype, shape: l.shape, strides: l.strides, offset: l.offset });

/**
 * A fused composite: one primitive call where the backend has a kernel for it, otherwise
 * `decompose` (the same computation in primitives, and the definition of its meaning).
 */
export function applyFused(call: PrimitiveCall, inputs: readonly Tensor[], decompose: () => Tensor): Tensor {
  inputs = adopted(inputs);
  infer(call, inputs);
  const backend = backendOf(call, inputs);
  const fusable = interceptors.every((i) => i.acceptsFused?.(call) !== false);
  return fusable && backend.fuses?.(call, inputs.map((t) => viewOf(t))) ? apply(call, inputs) : decompose();
}

/**
 * Runs fn with fused composites decomposed into primitives (all of them, or those named in
 * `only`): to compare a kernel with its definition, or to time one without the other.
 */
export function decomposed<R>(fn: () => R, only?: readonly PrimitiveCall["op"][]): R {
  const refuse: Interceptor = { record: () => {}, acceptsFused: (call) => only !== undefined && !only.includes(call.op) };
  pushInterceptor(refuse);
  try {
    return fn();
  } finally {
    popInterceptor(refuse);
  }
}

function adopted(inputs: readonly Tensor[]): readonly Tensor[] {
  for (const i of interceptors) if (i.adopt) inputs = i.adopt(inputs);
  return inputs;
}

function backendOf(call: PrimitiveCall, inputs: readonly Tensor[]): Backend {
  if (inputs.length === 0) {
    for (let i = interceptors.length - 1; i >= 0; i--) {
      const b = interceptors[i]!.sourceBackend?.(call);
      if (b) return b;
    }
    return getBackend();
  }
  const b = inputs[0]!.storage.backend;
  for (const t of inputs) {
    if (t.storage.backend !== b) throw new OpError(call.op, `inputs live on different backends (${b.name} and ${t.storage.backend.name}); move them with .to(backend)`);
  }
  return b;
}

function viewLayout(call: PrimitiveCall, x: Tensor): Layout | null {
  switch (call.op) {
    case "reshape": {
      const strides = reshapeStrides(x, call.shape);
      return strides && { shape: call.shape, strides, offset: x.offset };
    }
    case "permute":
      return permuteLayout(x, call.perm);
    case "expand":
      return expandLayout(x, call.shape);
    case "slice":
      return sliceLayout(x, call.starts, call.steps, call.shape);
    default:
      return x;
  }
}

/**
 * The one dispatch point: validates and shape-infers a primitive, runs it on the inputs'
 * backend (or, for view ops, builds a view on the same storage) and lets interceptors see it.
 */
export function apply(call: PrimitiveCall, inputs: readonly Tensor[]): Tensor {
  inputs = adopted(inputs);
  for (const t of inputs) if (t.isDisposed) throw new OpError(call.op, `an input tensor (shape ${fmtShape(t.shape)}) was already disposed; keep() it or return it from its tidy() scope`);
  const meta = infer(call, inputs);
  const backend = backendOf(call, inputs);
  const kind = kindOf(call.op);
  let out: Tensor;
  const layout = kind === "view" ? viewLayout(call, inputs[0]!) : null;
  if (layout) {
    out = new Tensor(inputs[0]!.storage, meta.dtype, layout);
  } else if (kind === "view") {
    // A reshape that cannot be a view copies first; it is still recorded as one reshape.
    const x = inputs[0]!;
    const copy = runOn(backend, { op: "copy" }, [x], x);
    out = new Tensor(copy.storage, meta.dtype, { shape: meta.shape, strides: contiguousStrides(meta.shape), offset: 0 });
    copy.dispose();
  } else if (profiling()) {
    const t0 = performance.now();
    out = runOn(backend, call, inputs, meta);
    recordOp(call.op, performance.now() - t0);
  } else {
    out = runOn(backend, call, inputs, meta);
  }
  for (const i of interceptors) i.record(call, inputs, out);
  return out;
}

function runOn(backend: Backend, call: PrimitiveCall, inputs: readonly Tensor[], meta: { shape: readonly number[]; dtype: Tensor["dtype"] }): Tensor {
  const buffer = backend.alloc(meta.dtype, numel(meta.shape));
  const out = new Tensor(new Storage(backend, buffer), meta.dtype, { shape: meta.shape, strides: contiguousStrides(meta.shape), offset: 0 });
  const kind = kindOf(call.op);
  // Elementwise ops see their inputs already broadcast to the output's shape.
  const views = inputs.map((t) => viewOf(t, kind === "binary" || call.op === "matmul" ? broadcastFor(call, t, meta.shape) : t));
  backend.run(call, views, viewOf(out));
  return out;
}

function broadcastFor(call: PrimitiveCall, t: Tensor, outShape: readonly number[]): Layout {
  if (call.op !== "matmul") return expandLayout(t, outShape);
  const batch = outShape.slice(0, -2);
  return expandLayout(t, [...batch, ...t.shape.slice(-2)]);
}
