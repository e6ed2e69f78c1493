import { dtypeInfo, type DType, type TypedArray } from "../../core/dtype.js";
import { elementOffsets, isContiguous } from "../../core/strided.js";
import { contiguousStrides } from "../../core/shape.js";
import type { Backend, MemoryStats } from "../../backend/backend.js";
import type { DeviceBuffer, View } from "../../backend/view.js";
import type { CallOf, PrimitiveCall } from "../../ops/primitives.js";
import { runReference } from "../reference/index.js";
import { hasSimd128, hasThreads, wasmApi, type WasmMemory } from "./asm/index.js";
import { Allocator } from "./allocator.js";
import { KernelCache } from "./kernel-cache.js";
import { Pool, type Kernel } from "./pool.js";
import { fusable, planAssemble, planKernel, planRandom } from "./kernels/index.js";

export interface WasmBuffer extends DeviceBuffer {
  /** Byte address in the shared memory. */
  readonly ptr: number;
}

interface CachedPlan {
  kernel: Kernel;
  units: number;
  minUnitsPerThread: number;
  /** Set when the kernel takes a scratch-arena argument (possibly needing 0 bytes). */
  scratchBytesPerThread: number | undefined;
}

/** Byte address of a view's first element. */
const address = (v: View): number => (v.buffer as WasmBuffer).ptr + v.offset * dtypeInfo(v.dtype).bytes;

/** The call's op and parameters as a short string (most calls are just their op). */
function callKey(call: PrimitiveCall): string {
  let key: string = call.op;
  for (const k in call) if (k !== "op") key += `;${k}=${String((call as unknown as Record<string, unknown>)[k])}`;
  return key;
}

export interface WasmBackendOptions {
  /** Worker threads including the calling one (default: all cores). */
  threads?: number;
  /** Initial memory in 64 KiB pages. */
  initialPages?: number;
}

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

/**
 * The default CPU backend: WebAssembly SIMD128 kernels generated at runtime for each op's
 * shapes and strides, run on all cores over one shared memory. Ops without a generated kernel
 * run the reference kernels directly on the shared memory (same semantics, slower).
 */
export class WasmBackend implements Backend {
  readonly name = "wasm";
  readonly memory: WasmMemory;
  readonly allocator: Allocator;
  readonly pool: Pool;
  readonly kernels: KernelCache;

  constructor(opts: WasmBackendOptions = {}) {
    if (!hasSimd128()) throw new Error("wasm backend: this JavaScript engine lacks WebAssembly SIMD128 (Node ≥ 16.4 has it); use setBackend('reference')");
    if (!hasThreads()) throw new Error("wasm backend: shared WebAssembly memory is unavailable in this engine; use setBackend('reference')");
    this.memory = new (wasmApi().Memory)({ initial: opts.initialPages ?? 256, maximum: 65536, shared: true });
    this.allocator = new Allocator(this.memory);
    this.pool = new Pool(this.memory, opts.threads);
    this.kernels = new KernelCache(this.memory);
  }

  alloc(dtype: DType, size: number): DeviceBuffer {
    const ptr = this.allocator.alloc(size * dtypeInfo(dtype).bytes);
    const buf: WasmBuffer = { backend: this.name, dtype, size, ptr };
    return buf;
  }

  free(buffer: DeviceBuffer): void {
    this.allocator.free((buffer as WasmBuffer).ptr);
  }

  /** The buffer's elements as a typed array over the shared memory (valid until memory grows). */
  array(buffer: DeviceBuffer): TypedArray {
    const b = buffer as WasmBuffer;
    return new ARRAYS[b.dtype](this.memory.buffer as ArrayBuffer, b.ptr, b.size);
  }

  read(view: View): TypedArray {
    const src = this.array(view.buffer);
    if (isContiguous(view) && view.offset === 0 && view.buffer.size === src.length) return src.slice(0, view.shape.reduce((a, b) => a * b, 1));
    const offsets = elementOffsets(view);
    const out = new ARRAYS[view.dtype](offsets.length);
    for (let i = 0; i < offsets.length; i++) out[i] = src[offsets[i]!]!;
    return out;
  }

  write(buffer: DeviceBuffer, data: TypedArray): void {
    if (data.length !== buffer.size) throw new Error(`write: ${data.length} values for a buffer of ${buffer.size}`);
    this.array(buffer).set(data);
  }

  stats(): MemoryStats {
    // The scratch arena is the backend's own, not a tensor's.
    const scratch = this.#scratchPtr ? 1 : 0;
    return { liveBuffers: this.allocator.liveBlocks - scratch, liveBytes: this.allocator.liveBytes - this.#scratchBytes };
  }

  fuses(call: PrimitiveCall, inputs: readonly View[]): boolean {
    return fusable(call, inputs);
  }

  run(call: PrimitiveCall, inputs: readonly View[], out: View): void {
    if (call.op === "full") return void this.array(out.buffer).fill(call.value);
    if (call.op === "constant") return this.write(out.buffer, call.data);
    if (call.op === "random") {
      // Key and counter are arguments (they move every call): planned here, not cached per call.
      const r = planRandom(call, out);
      if (r) return this.pool.run(this.kernels.get(r.plan.key, r.plan.build), [address(out), ...r.args], r.plan.units, r.plan.minUnitsPerThread);
    }
    if ((call.op === "concat" || call.op === "pad") && out.shape.every((d) => d > 0) && this.#assemble(call, inputs, out)) return;
    // Index kernels trust their indices: anything unusual (negative, out of range) goes to the
    // reference kernel, which wraps negatives and reports bad indices.
    const indicesOk = (call.op !== "gather" && call.op !== "scatter_add") || this.#indicesInRange(inputs[1]!, inputs[0]!.shape[call.axis]!);
    const plan = indicesOk ? this.#plan(call, inputs, out) : null;
    if (!plan) return runReference(call, inputs, out, (b) => this.array(b));
    const args = inputs.map(address);
    args.push(address(out));
    if (plan.scratchBytesPerThread !== undefined) args.push(this.#scratch(plan.scratchBytesPerThread));
    this.pool.run(plan.kernel, args, plan.units, plan.minUnitsPerThread);
  }

  /**
   * concat / pad as row copies (kernels/assemble.ts). Inputs whose rows are not contiguous (a
   * transposed gradient, say) are first copied to row-major temporaries: two fast passes instead
   * of the reference kernel's per-element walk. False: the reference kernel runs it.
   */
  #assemble(call: CallOf<"concat" | "pad">, inputs: readonly View[], out: View): boolean {
    let copies = planAssemble(call, inputs, out);
    const temps: DeviceBuffer[] = [];
    if (!copies) {
      const dense = inputs.map((v) => {
        const rowMajor = { ...v, offset: 0, strides: contiguousStrides(v.shape) };
        const copy = isContiguous(v) ? null : this.#plan({ op: "copy" }, [v], rowMajor);
        if (!copy) return v;
        const t: View = { ...rowMajor, buffer: this.alloc(v.dtype, v.shape.reduce((a, b) => a * b, 1)) };
        temps.push(t.buffer);
        this.pool.run(copy.kernel, [address(v), address(t)], copy.units, copy.minUnitsPerThread);
        return t;
      });
      copies = planAssemble(call, dense, out);
      inputs = dense;
    }
    for (const c of copies ?? []) this.pool.run(this.kernels.get(c.plan.key, c.plan.build), [address(inputs[c.input]!), address(out) + c.dstOffset], c.plan.units, c.plan.minUnitsPerThread);
    for (const b of temps) this.free(b);
    return copies !== null;
  }

  /**
   * Plans and compiled kernels by everything a plan depends on (op, dtypes, shapes, strides),
   * so a training loop's steady state skips planning and code generation entirely.
   */
  readonly #plans = new Map<string, CachedPlan | null>();

  #plan(call: PrimitiveCall, inputs: readonly View[], out: View): CachedPlan | null {
    let key = callKey(call);
    for (const v of inputs) key += `|${v.dtype}:${v.shape.join(",")}:${v.strides.join(",")}`;
    key += `|${out.dtype}:${out.shape.join(",")}`;
    let entry = this.#plans.get(key);
    if (entry === undefined) {
      const plan = planKernel(call, inputs, out);
      entry = plan && { kernel: this.kernels.get(plan.key, plan.build), units: plan.units, minUnitsPerThread: plan.minUnitsPerThread, scratchBytesPerThread: plan.scratchBytesPerThread };
      this.#plans.set(key, entry);
    }
    return entry;
  }

  /** Whether every index of the view is in [0, len); broadcast (stride-0) dims are read once. */
  #indicesInRange(idx: View, len: number): boolean {
    const distinct = { ...idx, shape: idx.shape.map((d, i) => (idx.strides[i] === 0 ? Math.min(d, 1) : d)) };
    const data = this.array(idx.buffer);
    const offsets = elementOffsets(distinct);
    for (let i = 0; i < offsets.length; i++) {
      const j = data[offsets[i]!]!;
      if (j < 0 || j >= len) return false;
    }
    return true;
  }

  #scratchPtr = 0;
  #scratchBytes = 0;

  /** One arena for every kernel's per-thread scratch, grown when a kernel needs more. */
  #scratch(perThread: number): number {
    const need = perThread * this.pool.threads;
    if (need > this.#scratchBytes) {
      if (this.#scratchPtr) this.allocator.free(this.#scratchPtr);
      this.#scratchPtr = this.allocator.alloc(need);
      this.#scratchBytes = need;
    }
    return this.#scratchPtr;
  }
}
