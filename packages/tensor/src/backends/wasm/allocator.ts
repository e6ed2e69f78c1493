import { MAX_PAGES, PAGE_BYTES, type WasmMemory } from "./asm/index.js";

/** Every block starts on a cache line, which also satisfies v128 alignment. */
export const ALIGN = 64;

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Raised when a tensor would not fit in WebAssembly's 4 GiB address space. */
export class WasmOutOfMemoryError extends Error {
  constructor(requested: number, live: number) {
    super(
      `wasm backend: cannot allocate ${fmt(requested)}: ${fmt(live)} are live and WebAssembly memory is capped at 4 GiB. ` +
        "Use a smaller batch or model, release tensors (tidy/dispose), or use the onnx backend.",
    );
    this.name = "WasmOutOfMemoryError";
  }
}

const fmt = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/**
 * Blocks in one shared linear memory. Freed blocks are kept by size for exact reuse (a
 * training step asks for the same sizes every time, so steady state allocates nothing new);
 * otherwise free space is coalesced and split, then memory is carved from the top, then grown.
 * Offset 0..ALIGN is reserved so that no block has address 0.
 */
export class Allocator {
  readonly #free = new Map<number, number[]>();
  /** Live blocks: address -> [block size, bytes asked for]. */
  readonly #sizes = new Map<number, [number, number]>();
  #top = ALIGN;
  #liveBytes = 0;
  /** Whether a block was freed since free space was last merged (if not, merging would change nothing). */
  #freedSinceMerge = false;
  #merges = 0;

  constructor(readonly memory: WasmMemory) {}

  /** Bytes asked for by live blocks (block sizes round these up to ALIGN). */
  get liveBytes(): number {
    return this.#liveBytes;
  }
  get liveBlocks(): number {
    return this.#sizes.size;
  }
  /** Times free space was merged (each a pass over all free blocks). */
  get merges(): number {
    return this.#merges;
  }
  /** Bytes below the high-water mark (live + free). */
  get reservedBytes(): number {
    return this.#top;
  }

  alloc(bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    // Exact reuse first (the steady state of a training loop), then free space, then fresh memory.
    const ptr = this.#reuse(size) ?? (this.#coalesce(), this.#reuse(size) ?? this.#split(size) ?? this.#carve(size)) ?? this.#grow(size);
    return this.#track(ptr, size, bytes);
  }

  free(ptr: number): void {
    this.#freedSinceMerge = true;
    this.#release(ptr);
  }

  /** Back to the free lists; split remainders come here directly (they never border free space). */
  #release(ptr: number): void {
    const entry = this.#sizes.get(ptr);
    if (entry === undefined) throw new Error(`wasm allocator: free of unknown block ${ptr}`);
    const [size, asked] = entry;
    this.#sizes.delete(ptr);
    this.#liveBytes -= asked;
    const list = this.#free.get(size);
    if (list) list.push(ptr);
    else this.#free.set(size, [ptr]);
  }

  #reuse(size: number): number | undefined {
    const list = this.#free.get(size);
    const ptr = list?.pop();
    if (list && list.length === 0) this.#free.delete(size);
    return ptr;
  }

  #carve(size: number): number | undefined {
    if (this.#top + size > this.memory.buffer.byteLength) return undefined;
    const ptr = this.#top;
    this.#top += size;
    return ptr;
  }

  /** Best fit among free blocks, the rest stays free. */
  #split(size: number): number | undefined {
    let best: number | undefined;
    for (const s of this.#free.keys()) if (s > size && (best === undefined || s < best)) best = s;
    if (best === undefined) return undefined;
    const ptr = this.#reuse(best)!;
    this.#release(this.#track(ptr + size, best - size, best - size));
    return ptr;
  }

  #track(ptr: number, size: number, asked: number): number {
    this.#sizes.set(ptr, [size, asked]);
    this.#liveBytes += asked;
    return ptr;
  }

  /** Merges adjacent free blocks and returns a free tail to the top. */
  #coalesce(): void {
    // Without a free since the last merge there is nothing to merge: every free block is already
    // maximal and none touches the top. (A training step's forward misses many times in a row;
    // merging for each cost 5 ms per gpt-tiny step.)
    if (!this.#freedSinceMerge) return;
    this.#freedSinceMerge = false;
    this.#merges++;
    const blocks: [number, number][] = [];
    for (const [size, ptrs] of this.#free) for (const p of ptrs) blocks.push([p, size]);
    if (blocks.length < 2 && !blocks.some(([p, s]) => p + s === this.#top)) return;
    blocks.sort((a, b) => a[0] - b[0]);
    this.#free.clear();
    const merged: [number, number][] = [];
    for (const [p, s] of blocks) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === p) last[1] += s;
      else merged.push([p, s]);
    }
    const tail = merged[merged.length - 1];
    if (tail && tail[0] + tail[1] === this.#top) {
      this.#top = tail[0];
      merged.pop();
    }
    for (const [p, s] of merged) {
      const list = this.#free.get(s);
      if (list) list.push(p);
      else this.#free.set(s, [p]);
    }
  }

  #grow(size: number): number {
    const needed = this.#top + size;
    const have = this.memory.buffer.byteLength;
    if (needed > MAX_PAGES * PAGE_BYTES) throw new WasmOutOfMemoryError(size, this.#liveBytes);
    // Grow by at least half again, so a growing model does not grow page by page.
    const want = Math.min(MAX_PAGES * PAGE_BYTES, Math.max(needed, Math.floor(have * 1.5)));
    this.memory.grow(Math.ceil((want - have) / PAGE_BYTES));
    return this.#carve(size)!;
  }
}
