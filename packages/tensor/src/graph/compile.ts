import { typedArray, type TypedArray } from "../core/dtype.js";
import { fmtShape } from "../core/errors.js";
import { Tensor as TensorClass, type Tensor } from "../tensor.js";
import { Storage } from "../memory/storage.js";
import { contiguousStrides } from "../core/shape.js";
import type { Graph } from "./ir.js";
import { lowerToOnnx } from "./onnx/lower.js";
import { ensureProvider, type Provider } from "./onnx/providers.js";
import { OnnxSession } from "./onnx/session.js";
import { loopModel } from "./loop-step.js";
import { WorkerSession, type Feed } from "./ort-worker.js";
import {
  batchInput, differingSites, flatGroups, liftLayout, liftedGraph, liftedInput, liftedValues, recordStep, unliftedChange,
  type FlatGroup, type LiftLayout, type Site, type StepFunction, type StepRecording,
} from "./step-graph.js";
import { TraceError } from "./symbolic.js";
import type { Rng } from "../random/rng.js";
import type { InputSpec, TraceOptions } from "./trace.js";

export interface CompileOptions<H> {
  /** The long-lived tensors the step reads and `assign`s (parameters, optimizer state); one flat buffer per dtype. */
  tensors: readonly Tensor[];
  /** One step's batch inputs. */
  batch: readonly InputSpec[];
  /** The host state before the first step (e.g. the optimizer state, whose numbers count steps). */
  host: H;
  /** Steps per session call, run by an ONNX Loop over K batches (default 1). */
  stepsPerCall?: number;
  provider?: Provider;
  /** ORT intra-op threads. */
  threads?: number;
  /** Run ORT in a worker thread so the event loop stays free during a call (default true). */
  worker?: boolean;
  /**
   * Let idle ORT intra-op threads spin-wait between ops. Default false: on busy cores spinning
   * threads starve the main thread and the wasm pool (a gpt-small step at 1×256 took 1.1 s
   * spinning vs 0.6 s); on 2 idle cores spinning made a gpt-small step at 8×256 7–11 % faster.
   */
  spin?: boolean;
  trace?: TraceOptions;
}

/** Per-step outputs of one call: each named step output, K values (scalars) or K arrays. */
export type StepOutputs = Record<string, TypedArray[]>;

export interface CompiledStep<H> {
  /** The host state after the steps run so far. */
  readonly host: H;
  /** One step's graph (inputs: flat buffers, batch, lifted scalars). */
  readonly graph: Graph;
  /** The ONNX model the session runs (the K-step Loop when stepsPerCall > 1). */
  readonly model: Uint8Array;
  readonly stepsPerCall: number;
  /** How many trace-time constants were lifted to inputs (learning rate, bias corrections, ...). */
  readonly lifted: number;
  /**
   * Runs K steps: `batches[k][i]` is step k's data for batch input i. Writes the new values into
   * the long-lived tensors before it resolves.
   */
  run(batches: readonly (readonly TypedArray[])[]): Promise<StepOutputs>;
  /** Where the last call's time went (ms). */
  readonly timings: CallTimings;
  release(): Promise<void>;
}

export interface CallTimings {
  /** Host tracing before the ORT call (0 when the previous call traced these steps ahead). */
  trace: number;
  /** Tracing the next call's steps, overlapped with this call's ORT run. */
  traceAhead: number;
  /** Building the feeds (flat buffers, batches, lifted scalars). */
  feeds: number;
  /** The ORT call, from posting the feeds to receiving the outputs. */
  ort: number;
  /** Writing the new flat buffers back into the tensors. */
  writeBack: number;
}

interface Runner {
  run(feeds: Record<string, Feed>): Promise<Record<string, TypedArray>>;
  release(): Promise<void>;
}

async function openRunner(model: Uint8Array, provider: Provider, threads: number | undefined, worker: boolean, spin: boolean): Promise<Runner> {
  ensureProvider(provider);
  if (worker) return WorkerSession.create(model, { provider, spin, ...(threads !== undefined ? { threads } : {}) });
  const s = await OnnxSession.create(model, { provider, ...(threads !== undefined ? { threads } : {}) });
  return {
    run: (feeds) => s.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, f.data]))),
    release: () => s.release(),
  };
}

/**
 * Compiles a training step into one ONNX model: traced once at the current host state and
 * once more at the next, the constants that differ (the step-dependent scalars the optimizer
 * computes on the host) become `lifted_<dtype>` inputs; every call re-traces the step
 * symbolically (no compute) to get their values and the next host state, and checks that no
 * other constant moved (if one did — say a schedule left its flat part — it is lifted too and
 * the model rebuilt once). Parameters and state travel as one flat buffer per dtype.
 */
export async function compile<H>(step: StepFunction<H>, opts: CompileOptions<H>): Promise<CompiledStep<H>> {
  const k = opts.stepsPerCall ?? 1;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`compile: stepsPerCall must be a positive integer, got ${k}`);
  const provider = opts.provider ?? "cpu";
  ensureProvider(provider); // before any tracing: a missing provider fails fast
  const worker = opts.worker ?? true;
  const groups = flatGroups(opts.tensors);
  // Random streams (dropout's Rng) are threaded like the host state: recordStep starts from the
  // counters it is given and leaves the streams' own counters as they were, so neither these
  // two traces nor the ones traced ahead move them; run() sets them after each call to where
  // its last step left them — where as many eager steps would have left them.
  const first = recordStep(step, opts.host, groups, opts.batch, opts.trace);
  const second = recordStep(step, first.host, groups, opts.batch, opts.trace, first.counters);
  const base = first.rec;
  const sites: Site[] = differingSites(base, second.rec);

  let layout: LiftLayout;
  let graph: Graph;
  let model: Uint8Array;
  let runner: Runner;
  const build = async () => {
    layout = liftLayout(base, sites);
    graph = liftedGraph(base, sites, layout);
    model = k === 1 ? lowerToOnnx(graph) : loopModel(graph, k, { carried: groups.map((g) => [g.input, g.output] as const) });
    runner = await openRunner(model, provider, opts.threads, worker, opts.spin ?? false);
  };
  await build();

  let host = opts.host;
  // The flat buffers as the last call left them; refilled from the tensors when one was given
  // another buffer (a checkpoint load). Buffers, not ids: every re-trace re-assigns the tensors.
  let flats: TypedArray[] | null = null;
  let buffers: unknown[] = [];

  const gather = (g: FlatGroup): TypedArray => {
    const out = typedArray(g.dtype, g.size);
    g.tensors.forEach((t, i) => out.set(t.data(), g.offsets[i]));
    return out;
  };
  const scatter = (g: FlatGroup, flat: TypedArray) => {
    g.tensors.forEach((t, i) => {
      const part = flat.subarray(g.offsets[i]!, g.offsets[i]! + t.size);
      const s = t.storage;
      // In place when the tensor owns its whole contiguous buffer; otherwise a fresh tensor is assigned.
      if (s.refCount === 1 && t.offset === 0 && s.buffer.size === t.size && isRowMajor(t)) s.backend.write(s.buffer, part);
      else {
        const fresh = tensorOn(t, part);
        t.assign(fresh);
        fresh.dispose();
      }
    });
  };

  /**
   * K recordings from host state `from` and stream counters `counters` (the streams' own
   * counters where not given), each step starting where the previous one ended.
   */
  const hostSteps = (from: H, counters?: ReadonlyMap<Rng, number>): StepRecording<H>[] => {
    const recs: StepRecording<H>[] = [];
    let h = from;
    let c = counters;
    for (let i = 0; i < k; i++) {
      const r = recordStep(step, h, groups, opts.batch, opts.trace, c);
      recs.push(r);
      h = r.host;
      c = r.counters;
    }
    return recs;
  };
  // Traced ahead from a host state and stream counters: valid while both are still current (a
  // checkpoint load may set a stream's counter between calls).
  let ahead: { from: H; counters: ReadonlyMap<Rng, number>; recs: StepRecording<H>[] } | null = null;
  const current = (counters: ReadonlyMap<Rng, number>): boolean => [...counters].every(([r, c]) => r.counter === c);
  let timings: CallTimings = { trace: 0, traceAhead: 0, feeds: 0, ort: 0, writeBack: 0 };

  async function run(batches: readonly (readonly TypedArray[])[]): Promise<StepOutputs> {
    if (batches.length !== k) throw new RangeError(`compiled step: expected ${k} batch(es) per call (stepsPerCall), got ${batches.length}`);
    // Host side of each step: the next host state and the lifted scalars' values (traced while
    // the previous call ran, when the host state is still the one that trace started from).
    const t0 = performance.now();
    const recs = ahead?.from === host && current(ahead.counters) ? ahead.recs : hostSteps(host);
    ahead = null;
    for (const r of recs) {
      const moved = unliftedChange(base, r.rec, sites);
      if (moved === "structure") throw new TraceError("compiled step: the step's graph changed (its ops depend on the host state); it cannot run as one compiled graph");
      if (moved) {
        // A constant that did not differ between the two first steps moves now: lift it too.
        sites.push(moved);
        await runner.release();
        await build();
        return run(batches);
      }
    }
    const h = recs[recs.length - 1]!.host;
    const counters = recs[recs.length - 1]!.counters;
    const t1 = performance.now();
    const feeds: Record<string, Feed> = {};
    const live = groups.flatMap((g) => g.tensors.map((t) => t.storage.buffer));
    if (!flats || live.some((b, i) => b !== buffers[i])) flats = groups.map(gather);
    groups.forEach((g, i) => (feeds[g.input] = { dtype: g.dtype, data: flats![i]!, dims: [g.size] }));
    opts.batch.forEach((spec, i) => {
      const name = batchInput(i, spec);
      const parts = batches.map((b) => {
        const d = b[i];
        if (!d || d.length !== spec.shape.reduce((a, c) => a * c, 1)) throw new RangeError(`compiled step: batch input '${name}' must have ${fmtShape(spec.shape)} ${spec.dtype} elements, got ${d?.length}`);
        return d;
      });
      feeds[name] = { dtype: spec.dtype, data: stack(parts), dims: k === 1 ? spec.shape : [k, ...spec.shape] };
    });
    const lifted = recs.map((r) => liftedValues(r.rec, sites, layout));
    for (const [dtype, size] of layout.sizes) {
      const name = liftedInput(dtype);
      feeds[name] = { dtype, data: stack(lifted.map((l) => l[name]!)), dims: k === 1 ? [size] : [k, size] };
    }
    const t2 = performance.now();
    const pending = runner.run(feeds);
    // While ORT computes in its worker, trace the next call's steps (speculatively: a failure
    // there is left for the next call to meet).
    if (worker) {
      try {
        ahead = { from: h, counters, recs: hostSteps(h, counters) };
      } catch {
        ahead = null;
      }
    }
    const t3 = performance.now();
    const out = await pending;
    const t4 = performance.now();
    flats = groups.map((g) => out[g.output]!);
    groups.forEach((g, i) => scatter(g, flats![i]!));
    buffers = groups.flatMap((g) => g.tensors.map((t) => t.storage.buffer));
    host = h;
    for (const [r, c] of counters) r.counter = c;
    timings = { trace: t1 - t0, traceAhead: t3 - t2, feeds: t2 - t1, ort: t4 - t2, writeBack: performance.now() - t4 };
    const result: StepOutputs = {};
    for (const name of recs[0]!.outputNames) {
      const v = out[name]!;
      const n = v.length / k;
      result[name] = Array.from({ length: k }, (_, s) => v.slice(s * n, (s + 1) * n) as TypedArray);
    }
    return result;
  }

  return {
    get host() {
      return host;
    },
    get graph() {
      return graph;
    },
    get model() {
      return model;
    },
    stepsPerCall: k,
    get lifted() {
      return sites.length;
    },
    run,
    get timings() {
      return timings;
    },
    release: () => runner.release(),
  };
}

const isRowMajor = (t: Tensor): boolean => {
  let s = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== s) return false;
    s *= t.shape[i]!;
  }
  return true;
};

function stack<A extends TypedArray | BigInt64Array>(parts: readonly A[]): A {
  if (parts.length === 1) return parts[0]!.slice() as A;
  const n = parts[0]!.length;
  const out = new (parts[0]!.constructor as new (n: number) => A)(n * parts.length);
  parts.forEach((p, i) => (out as { set(a: A, o: number): void }).set(p, i * n));
  return out;
}

/** A new tensor with this data on t's own backend instance. */
function tensorOn(t: Tensor, data: TypedArray): Tensor {
  const b = t.storage.backend;
  const buf = b.alloc(t.dtype, t.size);
  b.write(buf, data);
  return new TensorClass(new Storage(b, buf), t.dtype, { shape: t.shape, strides: contiguousStrides(t.shape), offset: 0 });
}
