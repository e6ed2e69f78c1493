/**
 * Loop nests for kernels over several strided operands sharing one iteration shape.
 * Dims are merged wherever every operand is contiguous across them, and size-1 dims dropped,
 * so most elementwise ops become one flat loop.
 */
export interface Nest {
  readonly shape: number[];
  /** strides[k][d]: operand k's stride (elements) along dim d. */
  readonly strides: number[][];
}

export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): Nest {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => st[k]![last] === s[d]! * shape[d]!);
    if (mergeable) {
      dims[last] = dims[last]! * shape[d]!;
      strides.forEach((s, k) => (st[k]![last] = s[d]!));
    } else {
      dims.push(shape[d]!);
      strides.forEach((s, k) => st[k]!.push(s[d]!));
    }
  }
  if (dims.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  return { shape: dims, strides: st };
}

export const shapeKey = (shape: readonly number[]): string => shape.join("x");
