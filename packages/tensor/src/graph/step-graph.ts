import { typedArray, type DType, type TypedArray } from "../core/dtype.js";
import { fmtShape } from "../core/errors.js";
import { apply } from "../dispatch.js";
import { tidy } from "../memory/scope.js";
import type { CallOf, PrimitiveCall } from "../ops/primitives.js";
import { watchDraws, type Rng } from "../random/rng.js";
import { Tensor } from "../tensor.js";
import { treeFlatten, type Tree } from "../tree.js";
import type { Constant, Graph, GraphNode, Port, ValueInfo } from "./ir.js";
import { TraceError, isSymbolic } from "./symbolic.js";
import { Recorder, prune, type InputSpec, type TraceOptions } from "./trace.js";

/**
 * One training step as a function of host state H (optimizer counters and the like, threaded
 * from step to step) and a batch. It updates the long-lived tensors in place (`assign`, as
 * optim's `step` does) and returns the next host state and the tensors to report (loss, ...).
 */
export type StepFunction<H> = (host: H, batch: readonly Tensor[]) => { host: H; outputs: Record<string, Tensor> };

/**
 * Where a trace-time constant lives in a recording: a `full` node or a constant, by position,
 * or a `random` node's counter (dropout draws the next numbers of its stream every step).
 */
export type Site = { kind: "full"; index: number } | { kind: "constant"; index: number } | { kind: "counter"; index: number };

/** The dtypes of the lifted inputs: the graph's own, and int64 for random counters (not an IR dtype). */
export type LiftDType = DType | "int64";

/** One dtype's flat buffer: the long-lived tensors of that dtype, back to back in this order. */
export interface FlatGroup {
  readonly dtype: DType;
  readonly tensors: readonly Tensor[];
  readonly offsets: readonly number[];
  readonly size: number;
  /** Graph input and output names. */
  readonly input: string;
  readonly output: string;
}

/** A recording of one step: what the host saw, and the payload of every trace-time constant. */
export interface StepRecording<H> {
  readonly rec: Recorder;
  readonly host: H;
  /**
   * The random streams the step drew from (or was given), at their positions after the step:
   * like the host state, where the next step's trace starts. recordStep leaves the streams'
   * own counters as it found them.
   */
  readonly counters: ReadonlyMap<Rng, number>;
  /** Step outputs by name (graph outputs besides the flat buffers). */
  readonly outputNames: readonly string[];
}

export const flatInput = (d: DType): string => `flat_${d}`;
export const flatOutput = (d: DType): string => `flat_${d}_out`;
export const liftedInput = (d: LiftDType): string => `lifted_${d}`;
export const batchInput = (i: number, spec: InputSpec): string => spec.name ?? `batch${i}`;

/** Groups the long-lived tensors by dtype (in order of first appearance) into flat buffers. */
export function flatGroups(tensors: readonly Tensor[]): FlatGroup[] {
  const by = new Map<DType, Tensor[]>();
  for (const t of tensors) {
    if (!by.has(t.dtype)) by.set(t.dtype, []);
    by.get(t.dtype)!.push(t);
  }
  if (new Set(tensors).size !== tensors.length) throw new TraceError("compile: the long-lived tensors list holds one tensor twice");
  return [...by].map(([dtype, ts]) => {
    const offsets: number[] = [];
    let size = 0;
    for (const t of ts) {
      offsets.push(size);
      size += t.size;
    }
    return { dtype, tensors: ts, offsets, size, input: flatInput(dtype), output: flatOutput(dtype) };
  });
}

/**
 * Traces one step with the long-lived tensors swapped for slices of symbolic flat buffers (one
 * per dtype); their values after the step are concatenated into the flat outputs. The eager
 * tensors get their own values back afterwards, whatever happens.
 *
 * Random streams (Rng, e.g. dropout's) are mutable state outside the host state: the step
 * starts from `counters` where given (the previous step's recording.counters) and from the
 * streams' own counters otherwise; their positions after the step are returned in the
 * recording, and the streams get their own counters back, as the tensors do. So a trace —
 * an extra one, or one traced ahead speculatively — never moves a stream; whoever runs the
 * steps for real sets the counters (compile does, after each call).
 */
export function recordStep<H>(
  step: StepFunction<H>, host: H, groups: readonly FlatGroup[], batch: readonly InputSpec[], opts: TraceOptions = {}, counters?: ReadonlyMap<Rng, number>,
): StepRecording<H> {
  const rec = new Recorder(opts);
  // Each stream the step touches, with the counter it had before: restored afterwards.
  const streams = new Map<Rng, number>();
  const enter = (r: Rng) => {
    if (!streams.has(r)) streams.set(r, r.counter);
  };
  const all = groups.flatMap((g) => g.tensors);
  // Tensors of the host state that are not long-lived are restored too (and reported if the step changed them).
  const others = (treeFlatten(host as Tree<unknown>)[0] as unknown[]).filter((l): l is Tensor => l instanceof Tensor && !all.includes(l) && !l.isDisposed);
  const kept = [...all, ...others];
  const originals = kept.map((t) => t.alias());
  try {
    for (const [r, c] of counters ?? []) {
      enter(r);
      r.counter = c;
    }
    return watchDraws(enter, () => rec.run(() =>
      tidy(() => {
        for (const g of groups) {
          const flat = rec.input(g.input, [g.size], g.dtype);
          g.tensors.forEach((t, i) => {
            const part = apply({ op: "slice", starts: [g.offsets[i]!], steps: [1], shape: [t.size] }, [flat]);
            t.assign(apply({ op: "reshape", shape: t.shape }, [part]));
          });
        }
        const syms = batch.map((b, i) => rec.input(batchInput(i, b), b.shape, b.dtype));
        const r = step(host, syms);
        // A host-state tensor that now holds a traced value was updated by the step without
        // being one of the long-lived tensors: its new value would never come back.
        const stray = [...others, ...(treeFlatten(r.host as Tree<unknown>)[0] as unknown[])].find((l): l is Tensor => l instanceof Tensor && isSymbolic(l.storage.buffer) && !all.includes(l));
        if (stray) throw new TraceError(`compile: the step updated a tensor of its host state (${fmtShape(stray.shape)} ${stray.dtype}) that is not among the long-lived tensors; pass every parameter and state tensor in \`tensors\``);
        for (const g of groups) rec.output(g.output, apply({ op: "concat", axis: 0 }, g.tensors.map((t) => apply({ op: "reshape", shape: [t.size] }, [t]))));
        for (const [name, t] of Object.entries(r.outputs)) rec.output(name, t);
        const after = new Map([...streams.keys()].map((s) => [s, s.counter]));
        return { rec, host: r.host, counters: after, outputNames: Object.keys(r.outputs) };
      }),
    ));
  } finally {
    for (const [r, c] of streams) r.counter = c;
    kept.forEach((t, i) => t.assign(originals[i]!));
    for (const o of originals) o.dispose();
    rec.dispose();
  }
}

/** The payload of a site: a full node's value, a constant's data or a random node's counter. */
function payload(rec: Recorder, s: Site): TypedArray | number {
  if (s.kind === "constant") return rec.constants[s.index]!.data;
  if (s.kind === "counter") return (rec.nodes[s.index]!.call as CallOf<"random">).counter;
  return (rec.nodes[s.index]!.call as { value: number }).value;
}

const samePayload = (a: TypedArray | number, b: TypedArray | number): boolean => {
  if (typeof a === "number" || typeof b === "number") return Object.is(a, b);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};

const sameArray = (a: unknown, b: unknown): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => sameArray(x, b[i])) : Object.is(a, b);

/** Whether two calls agree on everything but a full's value or a random op's counter. */
function sameStructure(a: PrimitiveCall, b: PrimitiveCall): boolean {
  if (a.op !== b.op) return false;
  const ka = Object.keys(a);
  for (const k of ka) {
    if ((a.op === "full" && k === "value") || (a.op === "random" && k === "counter")) continue;
    if (!sameArray((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return ka.length === Object.keys(b).length;
}

const describe = (call: PrimitiveCall): string => JSON.stringify(call, (k, v) => (k === "data" ? "[data]" : v));

/** A random op may only move its counter from step to step (the next numbers of one stream). */
function checkRandom(a: PrimitiveCall, b: PrimitiveCall, i: number, where: string): void {
  if (a.op !== "random" || sameStructure(a, b)) return;
  throw new TraceError(
    `${where}: random op ${i} is ${describe(a)} in one and ${describe(b)} in the other: a compiled step's random draws may only move their counter ` +
      "(draw the next numbers of the same Rng each step); a key (seed or stream), shape, dtype or distribution that depends on the host state cannot be one graph",
  );
}

/**
 * The constants that differ between two recordings of the same step at different host states
 * (learning rate, bias corrections, ...). Throws when the recordings differ in anything else:
 * then the step's structure depends on the host state and cannot be one graph.
 */
export function differingSites(a: Recorder, b: Recorder): Site[] {
  const where = "compile: the step's graph changed between two step counts";
  if (a.nodes.length !== b.nodes.length || a.constants.length !== b.constants.length || a.values.length !== b.values.length) {
    throw new TraceError(`${where} (${a.nodes.length} vs ${b.nodes.length} ops, ${a.constants.length} vs ${b.constants.length} constants): the step takes host-dependent branches; make them tensor ops`);
  }
  a.values.forEach((v, i) => {
    const w = b.values[i]!;
    if (v.dtype !== w.dtype || !sameArray(v.shape, w.shape)) throw new TraceError(`${where}: value ${i} is ${fmtShape(v.shape)} ${v.dtype} in one and ${fmtShape(w.shape)} ${w.dtype} in the other`);
  });
  const sites: Site[] = [];
  a.nodes.forEach((n, i) => {
    const m = b.nodes[i]!;
    checkRandom(n.call, m.call, i, where);
    if (!sameStructure(n.call, m.call) || !sameArray(n.inputs, m.inputs) || n.output !== m.output) {
      throw new TraceError(`${where}: op ${i} is ${describe(n.call)} in one and ${describe(m.call)} in the other`);
    }
    const kind = n.call.op === "full" ? "full" : n.call.op === "random" ? "counter" : null;
    if (kind && !samePayload(payload(a, { kind, index: i }), payload(b, { kind, index: i }))) sites.push({ kind, index: i });
  });
  a.constants.forEach((c, i) => {
    const d = b.constants[i]!;
    if (c.value !== d.value) throw new TraceError(`${where}: constant ${i} is value ${c.value} in one and ${d.value} in the other`);
    if (!samePayload(c.data, d.data)) sites.push({ kind: "constant", index: i });
  });
  return sites;
}

/**
 * Checks that `now` (a recording at the current host state) differs from the compiled one
 * (`base`) only at the lifted sites; returns the first site that does not, or null.
 */
export function unliftedChange(base: Recorder, now: Recorder, lifted: readonly Site[]): Site | "structure" | null {
  if (base.nodes.length !== now.nodes.length || base.constants.length !== now.constants.length) return "structure";
  const isLifted = new Set(lifted.map((s) => `${s.kind}:${s.index}`));
  for (let i = 0; i < base.nodes.length; i++) {
    const n = base.nodes[i]!;
    if (n.call.op !== now.nodes[i]!.call.op) return "structure";
    checkRandom(n.call, now.nodes[i]!.call, i, "compiled step: the step's graph changed");
    const kind = n.call.op === "full" ? "full" : n.call.op === "random" ? "counter" : null;
    if (kind && !isLifted.has(`${kind}:${i}`) && !samePayload(payload(base, { kind, index: i }), payload(now, { kind, index: i }))) return { kind, index: i };
  }
  for (let i = 0; i < base.constants.length; i++) {
    if (!isLifted.has(`constant:${i}`) && !samePayload(base.constants[i]!.data, now.constants[i]!.data)) return { kind: "constant", index: i };
  }
  return null;
}

/**
 * Lifted scalars, packed per dtype in site order: the `lifted_<dtype>` inputs of one call
 * (random counters in `lifted_int64`, a BigInt64Array).
 */
export function liftedValues(rec: Recorder, sites: readonly Site[], layout: LiftLayout): Record<string, TypedArray | BigInt64Array> {
  const out: Record<string, TypedArray | BigInt64Array> = {};
  for (const [dtype, size] of layout.sizes) out[liftedInput(dtype)] = dtype === "int64" ? new BigInt64Array(size) : typedArray(dtype, size);
  sites.forEach((s, i) => {
    const { dtype, offset } = layout.at[i]!;
    const p = payload(rec, s);
    const arr = out[liftedInput(dtype)]!;
    if (arr instanceof BigInt64Array) arr[offset] = BigInt(p as number);
    else if (typeof p === "number") arr[offset] = p;
    else arr.set(p, offset);
  });
  return out;
}

/** Where each lifted site lives in the lifted vectors. */
export interface LiftLayout {
  sizes: Map<LiftDType, number>;
  at: { dtype: LiftDType; offset: number; length: number }[];
}

export function liftLayout(rec: Recorder, sites: readonly Site[]): LiftLayout {
  const sizes = new Map<LiftDType, number>();
  const at = sites.map((s) => {
    if (s.kind === "counter") {
      const offset = sizes.get("int64") ?? 0;
      sizes.set("int64", offset + 1);
      return { dtype: "int64" as const, offset, length: 1 };
    }
    const value = s.kind === "full" ? rec.nodes[s.index]!.output : rec.constants[s.index]!.value;
    const info = rec.values[value]!;
    const length = info.shape.reduce((a, b) => a * b, 1);
    const offset = sizes.get(info.dtype) ?? 0;
    sizes.set(info.dtype, offset + (s.kind === "full" ? 1 : length));
    return { dtype: info.dtype, offset, length: s.kind === "full" ? 1 : length };
  });
  return { sizes, at };
}

/**
 * The recording as a graph with the lifted sites turned into slices of `lifted_<dtype>`
 * inputs (a full becomes slice → reshape → expand, a constant slice → reshape), pruned to
 * what the outputs need. A lifted random counter stays a random node that reads element
 * `counterAt` of the graph's `counters` input (`lifted_int64`: int64 is no IR dtype, so the
 * lowering reads it, not an IR node).
 */
export function liftedGraph(rec: Recorder, sites: readonly Site[], layout: LiftLayout): Graph {
  const values: ValueInfo[] = [...rec.values];
  const fresh = (shape: readonly number[], dtype: DType): number => {
    values.push({ id: values.length, shape, dtype });
    return values.length - 1;
  };
  const inputs: Port[] = [...rec.inputs];
  const liftedIds = new Map<DType, number>();
  for (const [dtype, size] of layout.sizes) {
    if (dtype === "int64") continue;
    const v = fresh([size], dtype);
    liftedIds.set(dtype, v);
    inputs.push({ name: liftedInput(dtype), value: v });
  }
  // The nodes that read the lifted vector and end in the site's own value id.
  const reader = (i: number, out: number): GraphNode[] => {
    const { offset, length } = layout.at[i]!;
    const dtype = layout.at[i]!.dtype as DType; // not int64: counters are no reader's
    const info = values[out]!;
    const src = liftedIds.get(dtype)!;
    const part = fresh([length], dtype);
    const nodes: GraphNode[] = [{ call: { op: "slice", starts: [offset], steps: [1], shape: [length] }, inputs: [src], output: part }];
    if (sites[i]!.kind === "constant" || info.shape.length === 0) {
      nodes.push({ call: { op: "reshape", shape: info.shape }, inputs: [part], output: out });
    } else {
      const scalar = fresh([], dtype);
      nodes.push({ call: { op: "reshape", shape: [] }, inputs: [part], output: scalar });
      nodes.push({ call: { op: "expand", shape: info.shape }, inputs: [scalar], output: out });
    }
    return nodes;
  };
  const fullSite = new Map<number, number>();
  const constSite = new Map<number, number>();
  const counterSite = new Map<number, number>();
  sites.forEach((s, i) => (s.kind === "full" ? fullSite : s.kind === "counter" ? counterSite : constSite).set(s.index, i));
  const nodes: GraphNode[] = [];
  const constants: Constant[] = [];
  rec.constants.forEach((c, j) => {
    const i = constSite.get(j);
    if (i === undefined) constants.push(c);
    else nodes.push(...reader(i, c.value));
  });
  rec.nodes.forEach((n, j) => {
    const i = fullSite.get(j);
    const c = counterSite.get(j);
    if (c !== undefined) nodes.push({ ...n, counterAt: layout.at[c]!.offset });
    else if (i === undefined) nodes.push(n);
    else nodes.push(...reader(i, n.output));
  });
  const counters = layout.sizes.get("int64");
  return prune({ values, inputs, constants, nodes, outputs: rec.outputs, ...(counters ? { counters: { input: liftedInput("int64"), size: counters } } : {}) });
}

