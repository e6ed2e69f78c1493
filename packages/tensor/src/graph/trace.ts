import type { DType } from "../core/dtype.js";
import type { Backend } from "../backend/backend.js";
import { fmtShape } from "../core/errors.js";
import { contiguousStrides, type Shape } from "../core/shape.js";
import type { Layout } from "../core/strided.js";
import { popInterceptor, pushInterceptor, type Interceptor } from "../dispatch.js";
import { tidy } from "../memory/scope.js";
import { Storage } from "../memory/storage.js";
import type { PrimitiveCall } from "../ops/primitives.js";
import { Tensor } from "../tensor.js";
import { treeFlatten, treePaths, type Tree, type TreeDef } from "../tree.js";
import type { Constant, Graph, GraphNode, Port, ValueInfo } from "./ir.js";
import { SymbolicBuffer, TraceError, isSymbolic, symbolicBackend } from "./symbolic.js";

export interface TraceOptions {
  /**
   * Which fused composites to record as one node (default: all but the optimizer updates; the
   * ONNX lowering maps them to fused ORT ops). The others are recorded as their decomposition
   * into primitives.
   */
  fuse?: (call: PrimitiveCall) => boolean;
}

/**
 * Optimizer updates (adamw_update) carry the step's scalars (step size, bias correction) as
 * call attributes; decomposed, those scalars are `full` nodes that scalar lifting turns into
 * graph inputs, so one graph serves every step.
 */
const defaultFuse = (call: PrimitiveCall): boolean => call.op !== "adamw_update";

let active = 0;
/** Whether a trace is being recorded: layers with host-side logic (MoE routing) switch to static-shape forms. */
export const isTracing = (): boolean => active > 0;

const sameLayout = (a: Layout, b: Layout): boolean =>
  a.offset === b.offset && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]) && a.strides.every((s, i) => s === b.strides[i]);

/**
 * Records every primitive executed on traced values while it is installed: an interceptor at
 * the dispatch point; traced values live on the symbolic backend, which computes nothing. Values are
 * keyed by tensor id (aliases share one); a tensor whose id is unknown (an `assign` gives a
 * new id) is found by its buffer and layout among the values recorded on that buffer.
 * Tensors of other backends that reach an op (closed over by the function) become constants.
 */
export class Recorder implements Interceptor {
  readonly values: ValueInfo[] = [];
  readonly inputs: Port[] = [];
  readonly constants: Constant[] = [];
  readonly nodes: GraphNode[] = [];
  readonly outputs: Port[] = [];
  #byTensor = new Map<number, number>();
  #byBuffer = new Map<SymbolicBuffer, { value: number; layout: Layout }[]>();
  #adopted = new Map<number, Tensor>();
  #fuse: (call: PrimitiveCall) => boolean;

  constructor(opts: TraceOptions = {}) {
    this.#fuse = opts.fuse ?? defaultFuse;
  }

  /**
   * Runs fn with this recorder installed. The default backend stays the eager one: ops whose
   * inputs are all known (creation ops, JS numbers, ops on closed-over tensors) compute at
   * trace time and reach the graph as constants where they meet a traced value, so tables a
   * module caches during a trace (RoPE) are ordinary tensors, usable after it.
   */
  run<R>(fn: () => R): R {
    pushInterceptor(this);
    active++;
    try {
      return fn();
    } finally {
      active--;
      popInterceptor(this);
    }
  }

  /** A new graph input: a symbolic tensor of this shape and dtype. */
  input(name: string, shape: Shape, dtype: DType): Tensor {
    if (this.inputs.some((p) => p.name === name)) throw new TraceError(`graph input '${name}' is declared twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    const t = new Tensor(new Storage(symbolicBackend, symbolicBackend.alloc(dtype, size)), dtype, { shape, strides: contiguousStrides(shape), offset: 0 });
    const v = this.#value(t);
    this.#byBuffer.set(t.storage.buffer as SymbolicBuffer, [{ value: v, layout: t }]);
    this.inputs.push({ name, value: v });
    return t;
  }

  /** Marks t as a graph output. */
  output(name: string, t: Tensor): void {
    if (this.outputs.some((p) => p.name === name)) throw new TraceError(`graph output '${name}' is declared twice`);
    this.outputs.push({ name, value: this.valueOf(t, `output '${name}'`) });
  }

  /**
   * Random draws are recorded, not computed: a graph node that draws the same bits from its
   * key and counter when the graph runs (so a compiled step's dropout draws on the device,
   * and its counter can be fed per step). Other sources still compute at trace time.
   */
  sourceBackend(call: PrimitiveCall): Backend | undefined {
    return call.op === "random" ? symbolicBackend : undefined;
  }

  acceptsFused(call: PrimitiveCall): boolean {
    return this.#fuse(call);
  }

  adopt(inputs: readonly Tensor[]): readonly Tensor[] {
    // All known: the op computes now. All traced: nothing to do.
    if (!inputs.some((t) => isSymbolic(t.storage.buffer)) || inputs.every((t) => isSymbolic(t.storage.buffer) || t.isDisposed)) return inputs;
    return inputs.map((t) => {
      if (isSymbolic(t.storage.buffer) || t.isDisposed) return t;
      let c = this.#adopted.get(t.id);
      if (!c) {
        // Known at trace time: its current data becomes a constant of the graph.
        const data = t.data();
        c = new Tensor(new Storage(symbolicBackend, new SymbolicBuffer(t.dtype, data.length, data)), t.dtype, { shape: t.shape, strides: contiguousStrides(t.shape), offset: 0 }).keep();
        this.constants.push({ value: this.#value(c), data });
        this.#adopted.set(t.id, c);
      }
      return c;
    });
  }

  record(call: PrimitiveCall, inputs: readonly Tensor[], output: Tensor): void {
    if (!isSymbolic(output.storage.buffer)) return; // computed at trace time
    if (call.op === "constant") {
      const v = this.#value(output);
      this.constants.push({ value: v, data: call.data });
    } else {
      const ids = inputs.map((t, i) => this.valueOf(t, `input ${i} of ${call.op}`));
      const v = this.#value(output);
      this.nodes.push({ call, inputs: ids, output: v });
    }
    // Every value a buffer holds, by layout: views included (they share their input's buffer).
    const buf = output.storage.buffer;
    if (isSymbolic(buf)) {
      const entry = { value: this.#byTensor.get(output.id)!, layout: { shape: output.shape, strides: output.strides, offset: output.offset } };
      const list = this.#byBuffer.get(buf);
      if (list) list.push(entry);
      else this.#byBuffer.set(buf, [entry]);
    }
  }

  /** The graph value a tensor holds. */
  valueOf(t: Tensor, what = "a tensor"): number {
    const known = this.#byTensor.get(t.id);
    if (known !== undefined) return known;
    const buf = t.storage.buffer;
    if (isSymbolic(buf)) {
      const owner = this.#byBuffer.get(buf)?.find((e) => sameLayout(e.layout, t));
      if (owner) {
        this.#byTensor.set(t.id, owner.value);
        return owner.value;
      }
      if (buf.data) {
        const v = this.#value(t);
        this.constants.push({ value: v, data: t.data() });
        return v;
      }
    }
    throw new TraceError(
      `${what} (${fmtShape(t.shape)} ${t.dtype}) was not made in this trace: it comes from another trace or is a view the tracer did not see; ` +
        "pass it as an input or create it inside the traced function",
    );
  }

  #value(t: Tensor): number {
    const id = this.values.length;
    this.values.push({ id, shape: [...t.shape], dtype: t.dtype });
    this.#byTensor.set(t.id, id);
    return id;
  }

  /** The recorded graph, without the nodes and constants no output depends on. */
  graph(): Graph {
    if (this.outputs.length === 0) throw new TraceError("the traced function has no outputs");
    return prune({ values: this.values, inputs: this.inputs, constants: this.constants, nodes: this.nodes, outputs: this.outputs });
  }

  dispose(): void {
    for (const t of this.#adopted.values()) t.dispose();
    this.#adopted.clear();
  }
}

/** A traced function: its graph, and how to rebuild its result tree from the graph's outputs. */
export interface Traced {
  graph: Graph;
  /** The result's structure; graph output i is its i-th leaf, named by its dotted path ("out" for a single tensor). */
  outputDef: TreeDef;
}

export interface InputSpec {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly name?: string;
}

/**
 * Runs fn on symbolic tensors of the inputs' shapes and dtypes and returns the graph of every
 * primitive it executed: forward, any autograd backward (`grad` inside fn is recorded like any
 * other ops) and updates. Tensors fn closes over and JS numbers are constants of the graph;
 * reading a traced value on the host throws a TraceError.
 */
export function trace(fn: (...inputs: Tensor[]) => Tree<Tensor>, inputs: readonly (InputSpec | Tensor)[], opts: TraceOptions = {}): Traced {
  const rec = new Recorder(opts);
  try {
    return rec.run(() =>
      tidy(() => {
        const syms = inputs.map((s, i) => rec.input((s instanceof Tensor ? undefined : s.name) ?? `input${i}`, s.shape, s.dtype));
        const result = fn(...syms);
        const [leaves, def] = treeFlatten(result);
        const paths = def.kind === "leaf" ? ["out"] : treePaths(result);
        leaves.forEach((t, i) => {
          if (!(t instanceof Tensor)) throw new TraceError(`the traced function returned a ${typeof t} at '${paths[i]}': only tensors can be graph outputs`);
          rec.output(paths[i]!, t);
        });
        return { graph: rec.graph(), outputDef: def };
      }),
    );
  } finally {
    rec.dispose();
  }
}

/** The graph without the nodes and constants no output depends on. */
export function prune(g: Graph): Graph {
  const live = new Set(g.outputs.map((o) => o.value));
  const nodes: GraphNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!live.has(n.output)) continue;
    nodes.push(n);
    for (const x of n.inputs) live.add(x);
  }
  nodes.reverse();
  return { ...g, constants: g.constants.filter((c) => live.has(c.value)), nodes };
}
