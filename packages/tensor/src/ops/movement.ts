import { OpError, fmtShape } from "../core/errors.js";
import { isContiguous } from "../core/strided.js";
import { normalizeAxes, normalizeAxis, numel, type Shape } from "../core/shape.js";
import { apply } from "../dispatch.js";
import type { Tensor } from "../tensor.js";

/** Reshape; one dim may be -1 (inferred). A view when the layout allows, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const holes = shape.length - known.length;
  if (holes > 1) throw new OpError("reshape", `only one dim may be -1, got ${fmtShape(shape)}`);
  const rest = numel(known);
  const resolved = shape.map((d) => (d === -1 ? (rest === 0 ? 0 : x.size / rest) : d));
  if (holes === 1 && !Number.isInteger(resolved[shape.indexOf(-1)]!)) {
    throw new OpError("reshape", `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  if (resolved.some((d) => !Number.isInteger(d) || d < 0)) throw new OpError("reshape", `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}: dims must be non-negative integers or one -1`);
  return apply({ op: "reshape", shape: resolved }, [x]);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normalizeAxis("permute", a, x.ndim));
  return apply({ op: "permute", perm: p }, [x]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.ndim).keys()];
  const i = normalizeAxis("transpose", a, x.ndim);
  const j = normalizeAxis("transpose", b, x.ndim);
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return permute(x, perm);
}

/** Broadcasts to `shape`; -1 keeps a dim. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const off = shape.length - x.ndim;
  const resolved = shape.map((d, i) => (d === -1 && i >= off ? x.shape[i - off]! : d));
  return apply({ op: "expand", shape: resolved }, [x]);
}

export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes("squeeze", axis, x.ndim);
  for (const a of axes) if (x.shape[a] !== 1) throw new OpError("squeeze", `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis("unsqueeze", axis, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeAxis("flatten", start, x.ndim);
  const e = normalizeAxis("flatten", end, x.ndim);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Per axis: an index (drops the axis), null (all), or [start, stop, step] with Python semantics. */
export type SliceSpec = number | null | readonly [number?, number?, number?];

function resolveRange(len: number, start: number | undefined, stop: number | undefined, step: number): [number, number] {
  const clampEnd = (v: number): number => {
    if (v < 0) v += len;
    if (v < 0) return step > 0 ? 0 : -1;
    if (v >= len) return step > 0 ? len : len - 1;
    return v;
  };
  const s = start === undefined ? (step > 0 ? 0 : len - 1) : clampEnd(start);
  const e = stop === undefined ? (step > 0 ? len : -1) : clampEnd(stop);
  const count = step > 0 ? Math.ceil((e - s) / step) : Math.ceil((s - e) / -step);
  return [s, Math.max(0, count)];
}

export function slice(x: Tensor, spec: readonly SliceSpec[]): Tensor {
  if (spec.length > x.ndim) throw new OpError("slice", `${spec.length} indices for a tensor of shape ${fmtShape(x.shape)}`);
  const starts: number[] = [];
  const steps: number[] = [];
  const shape: number[] = [];
  const drop: number[] = [];
  x.shape.forEach((len, i) => {
    const s = spec[i];
    if (typeof s === "number") {
      const idx = s < 0 ? s + len : s;
      if (!Number.isInteger(s) || idx < 0 || idx >= len) throw new OpError("slice", `index ${s} is out of range for axis ${i} of ${fmtShape(x.shape)}`);
      starts.push(idx), steps.push(1), shape.push(1), drop.push(i);
    } else {
      const [start, stop, step = 1] = s ?? [];
      if (step === 0 || !Number.isInteger(step)) throw new OpError("slice", `step must be a non-zero integer, got ${step} on axis ${i}`);
      const [b, n] = resolveRange(len, start, stop, step);
      starts.push(n > 0 ? b : 0), steps.push(step), shape.push(n);
    }
  });
  const y = apply({ op: "slice", starts, steps, shape }, [x]);
  return drop.length ? reshape(y, shape.filter((_, i) => !drop.includes(i))) : y;
}

/** Reverses the order along the given axes (a view with negative strides). */
export function flip(x: Tensor, axis: number | number[]): Tensor {
  const axes = normalizeAxes("flip", axis, x.ndim);
  return slice(x, x.shape.map((_, i) => (axes.includes(i) ? [undefined, undefined, -1] : null)));
}

/** The same values in a fresh row-major buffer (returns x itself when it already is one). */
export const contiguous = (x: Tensor): Tensor => (isContiguous(x) && x.offset === 0 && x.storage.buffer.size === x.size ? x : apply({ op: "copy" }, [x]));

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new OpError("concat", "needs at least one tensor");
  const a = normalizeAxis("concat", axis, xs[0]!.ndim);
  return xs.length === 1 ? xs[0]! : apply({ op: "concat", axis: a }, xs);
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new OpError("stack", "needs at least one tensor");
  const a = normalizeAxis("stack", axis, xs[0]!.ndim + 1);
  if (xs.some((x) => x.ndim !== xs[0]!.ndim || x.shape.some((d, i) => d !== xs[0]!.shape[i]))) {
    throw new OpError("stack", `tensors must have equal shapes, got ${xs.map((x) => fmtShape(x.shape)).join(", ")}`);
  }
  return apply({ op: "concat", axis: a }, xs.map((x) => unsqueeze(x, a)));
}

/** Splits along `axis` into pieces of the given sizes, or into `n` equal pieces. */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis("split", axis, x.ndim);
  const len = x.shape[a]!;
  let parts: number[];
  if (typeof sizes === "number") {
    if (len % sizes !== 0) throw new OpError("split", `axis ${a} of ${fmtShape(x.shape)} does not divide into ${sizes} equal parts`);
    parts = Array(sizes).fill(len / sizes);
  } else parts = [...sizes];
  if (parts.reduce((s, p) => s + p, 0) !== len) throw new OpError("split", `sizes [${parts}] do not add up to ${len} (axis ${a} of ${fmtShape(x.shape)})`);
  let at = 0;
  return parts.map((p) => {
    const spec: SliceSpec[] = x.shape.map(() => null);
    spec[a] = [at, at + p];
    at += p;
    return slice(x, spec);
  });
}

/** Zero padding: one [before, after] pair per axis, from the first axis. */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  const full = x.shape.map((_, i) => pads[i] ?? ([0, 0] as const));
  if (pads.length > x.ndim) throw new OpError("pad", `${pads.length} pad pairs for ${fmtShape(x.shape)}`);
  return full.every(([a, b]) => a === 0 && b === 0) ? x : apply({ op: "pad", pads: full }, [x]);
}

export const broadcastTo = (x: Tensor, shape: Shape): Tensor => expand(x, [...shape]);
