import type { DType, TypedArray } from "../core/dtype.js";
import type { PrimitiveCall } from "../ops/primitives.js";
import type { DeviceBuffer, View } from "./view.js";

export interface MemoryStats {
  /** Buffers allocated and not yet freed. */
  liveBuffers: number;
  liveBytes: number;
}

/**
 * What an executor implements. Tensors never see more than this: ops are validated,
 * broadcast and shape-inferred before they reach a backend, so `run` receives inputs
 * already expanded to the output's shape (for elementwise ops) and a fresh contiguous output.
 */
export interface Backend {
  readonly name: string;
  alloc(dtype: DType, size: number): DeviceBuffer;
  free(buffer: DeviceBuffer): void;
  /** A contiguous row-major copy of the view's elements. */
  read(view: View): TypedArray;
  /** Overwrites the whole buffer. */
  write(buffer: DeviceBuffer, data: TypedArray): void;
  /** Computes one primitive into `out` (contiguous, `out.shape` = the inferred shape). */
  run(call: PrimitiveCall, inputs: readonly View[], out: View): void;
  /**
   * Whether `run` has one kernel for a fused composite with these inputs. Without it (or when
   * it says no) the composite's decomposition into primitives runs instead.
   */
  fuses?(call: PrimitiveCall, inputs: readonly View[]): boolean;
  stats(): MemoryStats;
}
