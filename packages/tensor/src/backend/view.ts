import type { DType } from "../core/dtype.js";
import type { Shape } from "../core/shape.js";

/** A backend's memory handle. Opaque to everything but the backend that made it. */
export interface DeviceBuffer {
  readonly backend: string;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

/**
 * A strided window on a buffer: element (i0, i1, ...) lives at
 * `offset + Σ ik * strides[k]`. Strides may be 0 (broadcast) or negative (flip).
 */
export interface View {
  readonly buffer: DeviceBuffer;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}
