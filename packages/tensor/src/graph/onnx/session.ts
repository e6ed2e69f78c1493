import { createRequire } from "node:module";
import type { DType, TypedArray } from "../../core/dtype.js";
import { numel } from "../../core/shape.js";
import { ensureProvider, type Provider } from "./providers.js";

/**
 * An ONNX Runtime session over model bytes, fed and read with typed arrays. Inputs are checked
 * against the model's declared types and shapes first, so a mistake names the input instead
 * of surfacing as an ORT error. onnxruntime-node is loaded on first use only (it is a large
 * native library the eager backends never need).
 */

type Ort = typeof import("onnxruntime-node");
type OrtSession = import("onnxruntime-node").InferenceSession;

let ortModule: Ort | undefined;
const loadOrt = (): Ort => (ortModule ??= createRequire(import.meta.url)("onnxruntime-node") as Ort);

export interface SessionOptions {
  readonly provider?: Provider;
  /** Intra-op threads (ORT's default is one per core). Inter-op is always 1: graphs run sequentially. */
  readonly threads?: number;
  /** CUDA device ordinal. */
  readonly deviceId?: number;
  /** Debugging: where ORT writes the model after its graph optimizations (fusions, folded transposes). */
  readonly optimizedModelPath?: string;
}

/** What can be fed: equigrad's arrays, and int64 (BigInt64Array) for counters and indices. */
export type Feed = TypedArray | BigInt64Array;
type FeedType = DType | "int64";
const ARRAY_DTYPE = (a: Feed): FeedType =>
  a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : a instanceof Int32Array ? "int32" : a instanceof BigInt64Array ? "int64" : "bool";

export interface PortInfo {
  readonly name: string;
  readonly dtype: DType | string;
  readonly shape: readonly (number | string)[];
}

export class OnnxSession {
  private constructor(
    private readonly session: OrtSession,
    readonly provider: Provider,
    readonly inputs: readonly PortInfo[],
    readonly outputs: readonly PortInfo[],
  ) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
    const provider = opts.provider ?? "cpu";
    ensureProvider(provider);
    const threads = opts.threads;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const ort = loadOrt();
    const ep = provider === "cuda" ? { name: "cuda", deviceId: opts.deviceId ?? 0 } : provider;
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [ep],
        ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
      });
    } catch (e) {
      throw new Error(`ONNX Runtime could not load the model (${model.length} bytes) on provider ${provider}: ${(e as Error).message}`, { cause: e });
    }
    const ports = (meta: readonly import("onnxruntime-node").InferenceSession.ValueMetadata[]): PortInfo[] =>
      meta.map((m) => ({ name: m.name, dtype: m.isTensor ? (m.type === "float64" ? "float64" : m.type) : "non-tensor", shape: m.isTensor ? m.shape : [] }));
    return new OnnxSession(session, provider, ports(session.inputMetadata), ports(session.outputMetadata));
  }

  /** Checks one feed against the model's input; `shape` defaults to the declared one. */
  private feed(port: PortInfo, data: Feed, shape?: readonly number[]): import("onnxruntime-node").Tensor {
    const dtype = ARRAY_DTYPE(data);
    if (dtype !== port.dtype) throw new TypeError(`input '${port.name}': expected ${port.dtype} data, got a ${data.constructor.name} (${dtype})`);
    const dims = shape ?? port.shape.map((d) => {
      if (typeof d !== "number") throw new TypeError(`input '${port.name}' has a symbolic dim '${d}': pass its shape`);
      return d;
    });
    if (numel(dims) !== data.length) throw new RangeError(`input '${port.name}': expected shape [${dims.join(", ")}] (${numel(dims)} elements), got ${data.length} elements`);
    return new (loadOrt().Tensor)(dtype, data, dims);
  }

  /**
   * Runs the model. Every declared input must be given, nothing else; outputs come back as
   * typed arrays by name. `shapes` overrides the declared shape of inputs with symbolic dims.
   * Blocks the event loop for the whole run (ORT runs synchronously inside the promise).
   */
  async run(inputs: Readonly<Record<string, Feed>>, shapes: Readonly<Record<string, readonly number[]>> = {}): Promise<Record<string, TypedArray>> {
    const feeds: Record<string, import("onnxruntime-node").Tensor> = {};
    for (const port of this.inputs) {
      const data = inputs[port.name];
      if (data === undefined) throw new TypeError(`missing input '${port.name}' (the model takes ${this.inputs.map((p) => p.name).join(", ")})`);
      feeds[port.name] = this.feed(port, data, shapes[port.name]);
    }
    for (const name of Object.keys(inputs)) {
      if (!this.inputs.some((p) => p.name === name)) throw new TypeError(`unknown input '${name}': the model takes ${this.inputs.map((p) => p.name).join(", ")}`);
    }
    const results = await this.session.run(feeds);
    const out: Record<string, TypedArray> = {};
    for (const [name, t] of Object.entries(results)) out[name] = t.data as TypedArray;
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
