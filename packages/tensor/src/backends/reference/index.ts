import { dtypeInfo, roundTo, typedArray, type DType, type TypedArray } from "../../core/dtype.js";
import { OpError } from "../../core/errors.js";
import { elementOffsets } from "../../core/strided.js";
import type { Backend, MemoryStats } from "../../backend/backend.js";
import type { DeviceBuffer, View } from "../../backend/view.js";
import { kindOf, type BinaryOp, type PrimitiveCall, type UnaryOp } from "../../ops/primitives.js";
import * as K from "./kernels.js";

interface RefBuffer extends DeviceBuffer {
  readonly data: TypedArray;
}

const asRef = (b: DeviceBuffer): RefBuffer => {
  if (b.backend !== "reference") throw new Error(`reference backend got a ${b.backend} buffer`);
  return b as RefBuffer;
};

/**
 * The oracle: plain TypeScript, every element computed in float64 and stored with its dtype's
 * rounding. Slow and obviously correct; every other backend is tested against it.
 */
export class ReferenceBackend implements Backend {
  readonly name = "reference";
  #live = new Set<RefBuffer>();
  #bytes = 0;

  alloc(dtype: DType, size: number): DeviceBuffer {
    const buf: RefBuffer = { backend: this.name, dtype, size, data: typedArray(dtype, size) };
    this.#live.add(buf);
    this.#bytes += size * dtypeInfo(dtype).bytes;
    return buf;
  }

  free(buffer: DeviceBuffer): void {
    const b = asRef(buffer);
    if (!this.#live.delete(b)) throw new Error("reference backend: double free");
    this.#bytes -= b.size * dtypeInfo(b.dtype).bytes;
  }

  read(view: View): TypedArray {
    const data = asRef(view.buffer).data;
    const offsets = elementOffsets(view);
    const out = typedArray(view.dtype, offsets.length);
    for (let i = 0; i < offsets.length; i++) out[i] = data[offsets[i]!]!;
    return out;
  }

  write(buffer: DeviceBuffer, data: TypedArray): void {
    const b = asRef(buffer);
    if (data.length !== b.size) throw new Error(`write: ${data.length} values for a buffer of ${b.size}`);
    for (let i = 0; i < data.length; i++) b.data[i] = roundTo(b.dtype, data[i]!);
  }

  stats(): MemoryStats {
    return { liveBuffers: this.#live.size, liveBytes: this.#bytes };
  }

  run(call: PrimitiveCall, inputs: readonly View[], out: View): void {
    runReference(call, inputs, out, (b) => asRef(b).data);
  }

  /**
   * The fused composites run as float64 kernels here, so their VJP rules are exercised too;
   * the optimizer updates decompose, so each of their steps rounds as it would op by op.
   */
  fuses(call: PrimitiveCall): boolean {
    return call.op !== "adamw_update";
  }
}

/**
 * Runs a primitive with the reference kernels over any memory: `dataOf` maps a buffer to a
 * typed array of its elements. Other backends use it for ops they have no kernel for.
 */
export function runReference(call: PrimitiveCall, inputs: readonly View[], outView: View, dataOf: (b: DeviceBuffer) => TypedArray): void {
  const out: K.Out = { data: dataOf(outView.buffer), dtype: outView.dtype, shape: outView.shape };
  const read: K.Reader = (v) => ({ data: dataOf(v.buffer), offsets: elementOffsets(v) });
  const [x, y, z] = inputs;
  switch (call.op) {
    case "matmul":
      return K.matmul(x!, y!, read, out);
    case "where":
      return K.where(read(x!), read(y!), read(z!), out);
    case "sum":
    case "max":
    case "min":
      return K.reduce(call.op, read(x!), x!.shape, call.axes, out);
    case "argmax":
    case "argmin":
      return K.argReduce(call.op, read(x!), x!.shape, call.axis, out);
    case "cumsum":
      return K.cumsum(read(x!), x!.shape, call.axis, out);
    case "concat":
      return K.concat(inputs, read, call.axis, out);
    case "gather":
      return K.gather(x!, y!, read, call.axis, out);
    case "scatter_add":
      return K.scatterAdd(x!, y!, z!, read, call.axis, out);
    case "pad":
      return K.pad(read(x!), x!.shape, call.pads, out);
    case "constant":
      return out.data.set(call.data);
    case "full":
      return K.fill(out, () => call.value);
    case "arange":
      return K.fill(out, (i) => call.start + i * call.step);
    case "random":
      return K.random(call.dist, call.key, call.counter, call.p, out);
    case "softmax":
    case "log_softmax":
    case "layer_norm":
    case "rms_norm":
      return K.fusedRows(call, read(x!), x!.shape, out);
    case "gelu_grad":
    case "silu_grad":
      return K.activationGrad(call, read(x!), read(y!), out);
    case "layer_norm_grad":
    case "rms_norm_grad":
      return K.normGrad(call, read(x!), read(y!), x!.shape, out);
    case "attention":
      return K.attention(call, inputs, read, out);
    case "attention_grad":
      return K.attentionGrad(call, inputs, read, out);
    case "pow_scalar":
    case "copy":
    case "cast":
      return K.unary(K.unaryOp(call.op, call.op === "pow_scalar" ? call.exponent : 0), read(x!), out);
  }
  const kind = kindOf(call.op);
  if (kind === "unary") return K.unary(K.unaryOp(call.op as UnaryOp, 0), read(x!), out);
  if (kind === "binary") return K.binary(call.op as BinaryOp, read(x!), read(y!), x!.dtype, out);
  throw new OpError(call.op, "the reference backend has no kernel for this primitive");
}
