import { describe, expect, it } from "vitest";
import { wasmApi } from "../../src/backends/wasm/asm/index.js";
import { ALIGN, Allocator, WasmOutOfMemoryError } from "../../src/backends/wasm/allocator.js";
import { Rng, WasmBackend, registerBackend, tidy, withBackend } from "@equigrad/tensor";

const memory = () => new (wasmApi().Memory)({ initial: 1, maximum: 65536, shared: true });

describe("wasm allocator", () => {
  it("aligns blocks, reuses freed sizes exactly and never overlaps live blocks", () => {
    const a = new Allocator(memory());
    const p = [a.alloc(10), a.alloc(100), a.alloc(64)];
    for (const x of p) expect(x % ALIGN).toBe(0);
    expect(new Set(p).size).toBe(3);
    expect(p[1]! - p[0]!).toBeGreaterThanOrEqual(64);
    a.free(p[1]!);
    expect(a.alloc(100)).toBe(p[1]); // same size class comes back
    expect(a.liveBytes).toBe(10 + 100 + 64);
  });

  it("grows memory on demand and coalesces free space", () => {
    const mem = memory();
    const a = new Allocator(mem);
    const big = a.alloc(3 * 65536);
    expect(mem.buffer.byteLength).toBeGreaterThanOrEqual(big + 3 * 65536);
    const blocks = Array.from({ length: 8 }, () => a.alloc(1000));
    for (const b of blocks) a.free(b);
    a.free(big);
    const reserved = a.reservedBytes;
    a.alloc(3 * 65536 + 8000); // fits in the coalesced space: the high-water mark does not grow
    expect(a.reservedBytes).toBeLessThanOrEqual(reserved);
  });

  it("stays exactly flat when a loop repeats its sizes, and bounded when sizes vary", () => {
    const a = new Allocator(memory());
    let high = 0;
    for (let i = 0; i < 10_000; i++) {
      const xs = [a.alloc(4096), a.alloc(128), a.alloc(70_000)];
      for (const x of xs) a.free(x);
      if (i === 10) high = a.reservedBytes;
    }
    expect(a.reservedBytes).toBe(high);
    let early = 0;
    for (let i = 0; i < 10_000; i++) {
      const xs = [a.alloc(4096 + (i % 7) * 64), a.alloc(128), a.alloc(70_000)];
      for (const x of xs.reverse()) a.free(x);
      if (i < 1000) early = Math.max(early, a.reservedBytes);
      else expect(a.reservedBytes).toBeLessThanOrEqual(early + 4096);
    }
    expect(a.liveBlocks).toBe(0);
  });

  it("merges free space only when something was freed since the last merge", () => {
    const a = new Allocator(memory());
    const xs = Array.from({ length: 20 }, (_, i) => a.alloc(1000 + 64 * i));
    for (const x of xs) a.free(x);
    // Twenty new sizes in a row (like a forward pass): one merge, not twenty.
    const before = a.merges;
    const ys = Array.from({ length: 20 }, (_, i) => a.alloc(5000 + 64 * i));
    expect(a.merges).toBe(before + 1);
    expect(new Set(ys).size).toBe(20);
    for (const y of ys) expect(y % ALIGN).toBe(0);
    a.free(ys[3]!);
    a.alloc(123_456);
    expect(a.merges).toBe(before + 2);
  });

  it("gives a clear error past WebAssembly's 4 GiB", () => {
    const a = new Allocator(memory());
    expect(() => a.alloc(5 * 2 ** 30)).toThrow(WasmOutOfMemoryError);
    expect(() => a.alloc(5 * 2 ** 30)).toThrow(/cannot allocate 5\.00 GiB.*capped at 4 GiB.*smaller batch/);
  });

  it("a backend training-style loop keeps live buffers and reserved memory flat", () => {
    const b = new WasmBackend({ threads: 2 });
    registerBackend("wasm-alloc-test", () => b);
    withBackend("wasm-alloc-test", () => {
      const w = new Rng(1).normal([64, 64]).keep();
      let live = 0;
      let reserved = 0;
      for (let i = 0; i < 300; i++) {
        tidy(() => w.assign(w.sub(w.matmul(w).mul(1e-4)).mul(0.999)));
        if (i === 20) [live, reserved] = [b.stats().liveBuffers, b.allocator.reservedBytes];
      }
      expect(b.stats().liveBuffers).toBe(live);
      expect(b.allocator.reservedBytes).toBe(reserved);
    });
  });
});
