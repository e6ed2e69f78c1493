import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { DType, TypedArray } from "../core/dtype.js";

/**
 * ONNX Runtime in a worker thread. `session.run()` computes synchronously on the thread that
 * calls it, so a compiled training step run on the main thread would freeze progress output,
 * data loading and checkpoint writes for the whole step; here the main thread only posts the
 * feeds (their buffers are transferred, not copied) and awaits the outputs.
 * The worker is plain JavaScript over onnxruntime-node; provider checks happen before it starts.
 */

const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ort);
let session = null;
parentPort.on("message", async (msg) => {
  try {
    if (msg.kind === "create") {
      session = await ort.InferenceSession.create(msg.model, msg.options);
      parentPort.postMessage({ ok: true });
    } else if (msg.kind === "run") {
      const feeds = {};
      for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
      const results = await session.run(feeds);
      const out = {};
      const transfer = [];
      for (const [name, t] of Object.entries(results)) {
        out[name] = t.data;
        transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ ok: true, out }, transfer);
    } else if (msg.kind === "release") {
      if (session && msg.profile) session.endProfiling();
      if (session) await session.release();
      parentPort.postMessage({ ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
  }
});
`;

const ORT_TYPE: Record<DType | "int64", string> = { float32: "float32", float64: "float64", int32: "int32", bool: "bool", int64: "int64" };

/** One input of a call; int64 (a BigInt64Array) for the lifted random counters. */
export interface Feed {
  readonly dtype: DType | "int64";
  readonly data: TypedArray | BigInt64Array;
  readonly dims: readonly number[];
}

export interface WorkerSessionOptions {
  readonly provider: "cpu" | "cuda" | "webgpu";
  readonly threads?: number;
  /** Let idle ORT threads spin (default false). */
  readonly spin?: boolean;
}

export class WorkerSession {
  #worker: Worker;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(worker: Worker) {
    this.#worker = worker;
    // Idle, the worker does not keep the process alive (a run that fails before release() must
    // still exit); it is referenced only while a request is in flight.
    worker.unref();
  }

  static async create(model: Uint8Array, opts: WorkerSessionOptions): Promise<WorkerSession> {
    const ort = createRequire(import.meta.url).resolve("onnxruntime-node");
    const s = new WorkerSession(new Worker(SOURCE, { eval: true, workerData: { ort } }));
    const options = {
      executionProviders: [opts.provider],
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      // Idle intra-op threads sleep instead of spinning: the main thread (re-tracing, data,
      // checkpoints) and the wasm pool share the cores, and spinning workers starve them
      // (measured on 2 busy cores: 1.1 s → 0.6 s per gpt-small step at batch 1×256).
      ...(opts.spin ? {} : { extra: { session: { intra_op: { allow_spinning: "0" } } } }),
      // EQUIGRAD_ORT_PROFILE=<prefix>: ORT writes a per-node timing profile (<prefix>_<date>.json) on release.
      ...(process.env.EQUIGRAD_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.EQUIGRAD_ORT_PROFILE } : {}),
    };
    await s.#call({ kind: "create", model, options });
    return s;
  }

  #call(msg: unknown, transfer: ArrayBuffer[] = []): Promise<Record<string, TypedArray>> {
    const next = this.#queue.then(
      () =>
        new Promise<Record<string, TypedArray>>((resolve, reject) => {
          const onError = (e: Error) => {
            this.#worker.unref();
            reject(e);
          };
          this.#worker.ref();
          this.#worker.once("error", onError);
          this.#worker.once("message", (r: { ok: boolean; out?: Record<string, TypedArray>; error?: string }) => {
            this.#worker.off("error", onError);
            this.#worker.unref();
            if (r.ok) resolve(r.out ?? {});
            else reject(new Error(`ONNX Runtime: ${r.error}`));
          });
          this.#worker.postMessage(msg, transfer);
        }),
    );
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Runs the model; the feeds' buffers are transferred to the worker (do not reuse them). */
  run(feeds: Readonly<Record<string, Feed>>): Promise<Record<string, TypedArray>> {
    const msg: Record<string, { type: string; data: TypedArray | BigInt64Array; dims: readonly number[] }> = {};
    const transfer = new Set<ArrayBuffer>();
    for (const [name, f] of Object.entries(feeds)) {
      msg[name] = { type: ORT_TYPE[f.dtype], data: f.data, dims: f.dims };
      if (f.data.byteOffset === 0 && f.data.byteLength === f.data.buffer.byteLength && f.data.buffer instanceof ArrayBuffer) transfer.add(f.data.buffer);
    }
    return this.#call({ kind: "run", feeds: msg }, [...transfer]);
  }

  async release(): Promise<void> {
    try {
      await this.#call({ kind: "release", profile: Boolean(process.env.EQUIGRAD_ORT_PROFILE) });
    } finally {
      await this.#worker.terminate();
    }
  }
}
