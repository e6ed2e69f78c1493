import type { DType, TypedArray } from "./core/dtype.js";
import { OpError, fmtShape } from "./core/errors.js";
import { numel, shapesEqual, type Shape } from "./core/shape.js";
import { type Layout } from "./core/strided.js";
import { withBackend } from "./backend/registry.js";
import { fromTypedArray } from "./ops/creation.js";
import { track, type Disposable } from "./memory/scope.js";
import type { Storage } from "./memory/storage.js";
import * as E from "./ops/elementwise.js";
import * as R from "./ops/reduce.js";
import * as M from "./ops/movement.js";
import * as I from "./ops/indexing.js";
import { matmul } from "./ops/linalg.js";
import { softmax, logSoftmax } from "./composite/softmax.js";

export type TensorLike = Tensor | number | boolean;
export type NestedArray = number | boolean | NestedArray[];

let nextId = 1;
// Safety net for tensors outside every scope that are never disposed (scoped ones are freed
// by their scope, and registering every temporary would cost more than the op itself).
const finalizer = new FinalizationRegistry<Storage>((s) => s.release());

/**
 * An n-dimensional array: a strided view on a reference-counted backend buffer.
 * Views (reshape, permute, slice, expand) share the buffer; ops never mutate their inputs.
 */
export class Tensor implements Disposable, Layout {
  #id: number;
  #storage: Storage;
  #layout: Layout;
  #disposed = false;
  #kept = false;
  #finalized = false;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(
    storage: Storage,
    readonly dtype: DType,
    layout: Layout,
    id = nextId++,
  ) {
    this.#id = id;
    this.#storage = storage.retain();
    this.#layout = layout;
    if (!track(this)) this.unscoped();
  }

  /** @internal Registers the finalizer once the tensor is outside every scope. */
  unscoped(): void {
    if (this.#finalized || this.#disposed) return;
    this.#finalized = true;
    finalizer.register(this, this.#storage, this);
  }

  /** Identifies the value: aliases share it, `assign` gives a new one. Autograd and tracing key on it. */
  get id(): number {
    return this.#id;
  }
  get storage(): Storage {
    return this.#storage;
  }
  get shape(): Shape {
    return this.#layout.shape;
  }
  get strides(): readonly number[] {
    return this.#layout.strides;
  }
  get offset(): number {
    return this.#layout.offset;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  get isDisposed(): boolean {
    return this.#disposed;
  }
  get isKept(): boolean {
    return this.#kept;
  }

  /** Releases this tensor's hold on its buffer. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#finalized) finalizer.unregister(this);
    this.#storage.release();
  }

  /** Exempts this tensor from every enclosing and future `tidy` scope. */
  keep(): this {
    this.#kept = true;
    this.unscoped();
    return this;
  }

  /**
   * Replaces this tensor's contents with `value`'s (same shape and dtype), sharing its
   * buffer: how parameters and optimizer state are updated in a loop without leaking.
   */
  assign(value: Tensor): this {
    if (!shapesEqual(value.shape, this.shape) || value.dtype !== this.dtype) {
      throw new OpError("assign", `value ${fmtShape(value.shape)} ${value.dtype} must match the target ${fmtShape(this.shape)} ${this.dtype}`);
    }
    if (this.#disposed) throw new OpError("assign", "target tensor was disposed");
    const old = this.#storage;
    this.#id = nextId++;
    this.#storage = value.storage.retain();
    this.#layout = { shape: value.shape, strides: value.strides, offset: value.offset };
    if (this.#finalized) {
      finalizer.unregister(this);
      finalizer.register(this, this.#storage, this);
    }
    old.release();
    return this;
  }

  /**
   * Another handle on the same value (same id and buffer), outside every scope: how a tape
   * keeps what its backward pass needs alive after the scope that made it has ended.
   * The caller disposes it.
   */
  alias(): Tensor {
    this.assertLive("alias");
    return new Tensor(this.#storage, this.dtype, this.#layout, this.#id).keep();
  }

  /** A contiguous copy of the elements in row-major order. */
  data(): TypedArray {
    this.assertLive("data");
    return this.#storage.backend.read({ buffer: this.#storage.buffer, dtype: this.dtype, ...this.#layout });
  }

  /** Elements as a plain array of numbers (bool as 0/1), row-major. */
  toArray(): number[] {
    return Array.from(this.data());
  }

  /** Elements as nested arrays matching the shape. */
  tolist(): NestedArray {
    const flat = this.toArray();
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.ndim) return this.dtype === "bool" ? flat[start] === 1 : flat[start]!;
      const step = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new OpError("item", `needs a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.data()[0]!;
  }

  /** A copy on another backend. */
  to(backendName: string): Tensor {
    const data = this.data();
    return withBackend(backendName, () => fromTypedArray(data, this.shape, this.dtype));
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.#disposed ? ", disposed" : ""})`;
  }

  private assertLive(op: string): void {
    if (this.#disposed) throw new OpError(op, `tensor ${fmtShape(this.shape)} was already disposed`);
  }

  // Elementwise
  neg(): Tensor {
    return E.neg(this);
  }
  exp(): Tensor {
    return E.exp(this);
  }
  log(): Tensor {
    return E.log(this);
  }
  sqrt(): Tensor {
    return E.sqrt(this);
  }
  rsqrt(): Tensor {
    return E.rsqrt(this);
  }
  abs(): Tensor {
    return E.abs(this);
  }
  sign(): Tensor {
    return E.sign(this);
  }
  sin(): Tensor {
    return E.sin(this);
  }
  cos(): Tensor {
    return E.cos(this);
  }
  tanh(): Tensor {
    return E.tanh(this);
  }
  sigmoid(): Tensor {
    return E.sigmoid(this);
  }
  relu(): Tensor {
    return E.relu(this);
  }
  gelu(approximate: "tanh" | "none" = "none"): Tensor {
    return E.gelu(this, approximate);
  }
  silu(): Tensor {
    return E.silu(this);
  }
  erf(): Tensor {
    return E.erf(this);
  }
  reciprocal(): Tensor {
    return E.reciprocal(this);
  }
  square(): Tensor {
    return E.square(this);
  }
  add(y: TensorLike): Tensor {
    return E.add(this, y);
  }
  sub(y: TensorLike): Tensor {
    return E.sub(this, y);
  }
  mul(y: TensorLike): Tensor {
    return E.mul(this, y);
  }
  div(y: TensorLike): Tensor {
    return E.div(this, y);
  }
  pow(y: TensorLike): Tensor {
    return E.pow(this, y);
  }
  maximum(y: TensorLike): Tensor {
    return E.maximum(this, y);
  }
  minimum(y: TensorLike): Tensor {
    return E.minimum(this, y);
  }
  clamp(lo?: number, hi?: number): Tensor {
    return E.clamp(this, lo, hi);
  }
  eq(y: TensorLike): Tensor {
    return E.eq(this, y);
  }
  ne(y: TensorLike): Tensor {
    return E.ne(this, y);
  }
  lt(y: TensorLike): Tensor {
    return E.lt(this, y);
  }
  le(y: TensorLike): Tensor {
    return E.le(this, y);
  }
  gt(y: TensorLike): Tensor {
    return E.gt(this, y);
  }
  ge(y: TensorLike): Tensor {
    return E.ge(this, y);
  }
  cast(dtype: DType): Tensor {
    return E.cast(this, dtype);
  }

  // Reductions
  sum(axis?: number | number[], keepdim = false): Tensor {
    return R.sum(this, axis, keepdim);
  }
  mean(axis?: number | number[], keepdim = false): Tensor {
    return R.mean(this, axis, keepdim);
  }
  max(axis?: number | number[], keepdim = false): Tensor {
    return R.max(this, axis, keepdim);
  }
  min(axis?: number | number[], keepdim = false): Tensor {
    return R.min(this, axis, keepdim);
  }
  argmax(axis?: number, keepdim = false): Tensor {
    return R.argmax(this, axis, keepdim);
  }
  argmin(axis?: number, keepdim = false): Tensor {
    return R.argmin(this, axis, keepdim);
  }
  logsumexp(axis?: number | number[], keepdim = false): Tensor {
    return R.logsumexp(this, axis, keepdim);
  }
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return logSoftmax(this, axis);
  }

  // Shapes and views
  matmul(y: Tensor): Tensor {
    return matmul(this, y);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return M.reshape(this, shape.flat());
  }
  permute(...perm: number[] | [number[]]): Tensor {
    return M.permute(this, perm.flat());
  }
  transpose(a = -2, b = -1): Tensor {
    return M.transpose(this, a, b);
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return M.expand(this, shape.flat());
  }
  squeeze(axis?: number | number[]): Tensor {
    return M.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return M.unsqueeze(this, axis);
  }
  flatten(start = 0, end = -1): Tensor {
    return M.flatten(this, start, end);
  }
  slice(...spec: M.SliceSpec[]): Tensor {
    return M.slice(this, spec);
  }
  flip(axis: number | number[]): Tensor {
    return M.flip(this, axis);
  }
  contiguous(): Tensor {
    return M.contiguous(this);
  }
  gather(index: Tensor, axis: number): Tensor {
    return I.gather(this, index, axis);
  }

  /** A view that autograd treats as a constant. */
  detach(): Tensor {
    return E.stopGradient(this);
  }
}

