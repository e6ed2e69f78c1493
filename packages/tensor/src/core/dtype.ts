/** Element types. `bool` is stored as one byte per element. */
export type DType = "float32" | "float64" | "int32" | "bool";

export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface DTypeInfo {
  readonly bytes: number;
  readonly array: { new (n: number): TypedArray; new (src: ArrayLike<number>): TypedArray };
  readonly isFloat: boolean;
}

const INFO: Record<DType, DTypeInfo> = {
  float32: { bytes: 4, array: Float32Array, isFloat: true },
  float64: { bytes: 8, array: Float64Array, isFloat: true },
  int32: { bytes: 4, array: Int32Array, isFloat: false },
  bool: { bytes: 1, array: Uint8Array, isFloat: false },
};

export const dtypeInfo = (d: DType): DTypeInfo => INFO[d];
export const isFloat = (d: DType): boolean => INFO[d].isFloat;

/** Allocates a zeroed typed array for `n` elements of `d`. */
export const typedArray = (d: DType, n: number): TypedArray => new INFO[d].array(n);

/** The dtype of `a op b` for arithmetic: the wider of the two, in the order bool < int32 < float32 < float64. */
export function promote(a: DType, b: DType): DType {
  return DTYPES.indexOf(a) >= DTYPES.indexOf(b) ? a : b;
}

/** The dtype a JS number takes next to a tensor of dtype `d` (numbers are weakly typed, as in JAX/PyTorch). */
export function scalarDType(value: number | boolean, d: DType): DType {
  if (typeof value === "boolean") return d;
  if (isFloat(d)) return d;
  return Number.isInteger(value) ? (d === "bool" ? "int32" : d) : "float32";
}

/** Rounds a JS number to what a `d` element stores. */
export function roundTo(d: DType, x: number): number {
  switch (d) {
    case "float64":
      return x;
    case "float32":
      return Math.fround(x);
    case "int32":
      return x | 0;
    case "bool":
      return x !== 0 ? 1 : 0; // NaN is nonzero: true, as in NumPy/torch
  }
}

export function assertDType(d: string): asserts d is DType {
  if (!(d in INFO)) throw new TypeError(`unknown dtype '${d}': expected one of ${DTYPES.join(", ")}`);
}
