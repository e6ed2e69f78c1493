import { typedArray, type DType, type TypedArray } from "../core/dtype.js";
import { fmtShape } from "../core/errors.js";
import { elementOffsets } from "../core/strided.js";
import type { Backend, MemoryStats } from "../backend/backend.js";
import { registerBackend } from "../backend/registry.js";
import type { DeviceBuffer, View } from "../backend/view.js";
import type { PrimitiveCall } from "../ops/primitives.js";

/** Reading a traced tensor on the host: the value does not exist until the graph runs. */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}

/**
 * A buffer of the symbolic backend: shape-only, unless its data was known when it was made
 * (a `constant` op or a write), in which case it is a trace-time constant that may be read.
 */
export class SymbolicBuffer implements DeviceBuffer {
  readonly backend = SYMBOLIC;
  /** The op that produced it, named in the error when someone reads it. */
  origin = "a graph input";
  constructor(
    readonly dtype: DType,
    readonly size: number,
    public data: TypedArray | null = null,
  ) {}
}

export const SYMBOLIC = "symbolic";

/**
 * The tracer's executor: allocates shape-only buffers and computes nothing. Fused composites
 * are accepted as one kernel so a trace records them as single nodes (the ONNX lowering maps
 * them to fused ORT ops or to its own decomposition); a read of a value that only exists in
 * the graph throws a TraceError naming the value.
 */
export class SymbolicBackend implements Backend {
  readonly name = SYMBOLIC;
  #live = 0;

  alloc(dtype: DType, size: number): SymbolicBuffer {
    this.#live++;
    return new SymbolicBuffer(dtype, size);
  }

  free(): void {
    this.#live--;
  }

  read(view: View): TypedArray {
    const buf = view.buffer as SymbolicBuffer;
    if (!buf.data) {
      throw new TraceError(
        `cannot read a traced tensor (${fmtShape(view.shape)} ${view.dtype}, made by ${buf.origin}) on the host: its value only exists when the compiled graph runs. ` +
          "Data-dependent control flow (.item(), .data(), .toArray(), branching on tensor values) is not supported inside a traced function; express it with tensor ops (where, masks) or read the value outside the trace.",
      );
    }
    const out = typedArray(view.dtype, view.shape.reduce((a, b) => a * b, 1));
    const offs = elementOffsets(view);
    for (let i = 0; i < offs.length; i++) out[i] = buf.data[offs[i]!]!;
    return out;
  }

  write(buffer: DeviceBuffer, data: TypedArray): void {
    (buffer as SymbolicBuffer).data = data.slice();
  }

  run(call: PrimitiveCall, _inputs: readonly View[], out: View): void {
    const buf = out.buffer as SymbolicBuffer;
    buf.origin = call.op;
    if (call.op === "constant") buf.data = call.data.slice();
  }

  fuses(): boolean {
    return true;
  }

  stats(): MemoryStats {
    return { liveBuffers: this.#live, liveBytes: 0 };
  }
}

export const symbolicBackend = new SymbolicBackend();
registerBackend(SYMBOLIC, () => symbolicBackend);

export const isSymbolic = (buffer: DeviceBuffer): buffer is SymbolicBuffer => buffer instanceof SymbolicBuffer;
