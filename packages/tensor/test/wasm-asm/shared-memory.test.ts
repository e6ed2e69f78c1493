import { Worker } from "node:worker_threads";
import { describe, expect, test } from "vitest";
import { ModuleBuilder, wasmApi } from "../../src/backends/wasm/asm/index.js";
import { sharedMemory } from "./helpers.js";

/** store/load/atomic add on an imported shared memory. */
function buildShared(debug = true): ModuleBuilder {
  const m = new ModuleBuilder({ debug, name: "shared" });
  m.importMemory("env", "memory", { initial: 1, maximum: 8, shared: true });
  m.func({ name: "store", params: ["i32", "f32"], export: true }, (f) => f.local.get(0).local.get(1).f32.store());
  m.func({ name: "load", params: ["i32"], results: ["f32"], export: true }, (f) => f.local.get(0).f32.load());
  m.func({ name: "inc", params: ["i32", "i32"], export: true, locals: ["i32"] }, (f) => {
    // Atomically add 1 to *p, n times.
    f.block("void", "done").loop("void", "l");
    f.local.get(2).local.get(1).i32.ge_u().br_if("done");
    f.local.get(0).i32.const(1).i32.atomic_rmw_add().drop();
    f.local.get(2).i32.const(1).i32.add().local.set(2);
    f.br("l").end().end();
  });
  m.func({ name: "pages", results: ["i32"], export: true }, (f) => f.memory.size());
  return m;
}

type SharedExports = {
  store(p: number, v: number): void;
  load(p: number): number;
  inc(p: number, n: number): void;
  pages(): number;
};

describe("shared memory", () => {
  test("import section encodes the shared flag and limits", () => {
    const bytes = buildShared(false).build();
    // import "env" "memory" (memory 1 8 shared): kind 0x02, flags 0x03, min 1, max 8
    const needle = [0x03, 0x65, 0x6e, 0x76, 0x06, ...Buffer.from("memory"), 0x02, 0x03, 0x01, 0x08];
    expect(Buffer.from(bytes).includes(Buffer.from(needle))).toBe(true);
  });

  test("two instances on one memory see each other's writes", () => {
    const mem = sharedMemory(1, 8);
    const m = buildShared();
    const a = m.instantiate<SharedExports>({ env: { memory: mem } }).exports;
    const b = m.instantiate<SharedExports>({ env: { memory: mem } }).exports;
    a.store(40, 3.5);
    expect(b.load(40)).toBe(3.5);
    b.store(44, -1.25);
    expect(a.load(44)).toBe(-1.25);
    expect(new Float32Array(mem.buffer, 40, 2)).toEqual(Float32Array.from([3.5, -1.25]));
    a.inc(0, 10);
    b.inc(0, 5);
    expect(new Int32Array(mem.buffer, 0, 1)[0]).toBe(15);
    mem.grow(2);
    expect([a.pages(), b.pages()]).toEqual([3, 3]);
  });

  test("the import is rejected without a shared memory", () => {
    const m = buildShared();
    const unshared = new (wasmApi().Memory)({ initial: 1, maximum: 8 });
    expect(() => m.instantiate({ env: { memory: unshared } })).toThrow();
  });

  test("worker_threads run the same compiled module on the shared memory", async () => {
    const mem = sharedMemory(1, 8);
    const m = buildShared();
    const module = m.compile();
    const workerSrc = `
      const { parentPort, workerData } = require("node:worker_threads");
      const { module, memory, base, count } = workerData;
      const { exports } = new WebAssembly.Instance(module, { env: { memory } });
      for (let i = 0; i < count; i++) exports.store(base + 4 * i, i * 0.5);
      exports.inc(0, 1000);
      parentPort.postMessage("done");
    `;
    const runWorker = (base: number) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(workerSrc, { eval: true, workerData: { module, memory: mem, base, count: 64 } });
        w.once("message", () => resolve());
        w.once("error", reject);
        w.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
      });
    await Promise.all([runWorker(1024), runWorker(2048), runWorker(4096)]);
    const local = m.instantiate<SharedExports>({ env: { memory: mem } }).exports;
    for (const base of [1024, 2048, 4096]) {
      expect(local.load(base + 4 * 63)).toBe(31.5);
      expect(Array.from(new Float32Array(mem.buffer, base, 64))).toEqual(Array.from({ length: 64 }, (_, i) => i * 0.5));
    }
    expect(Atomics.load(new Int32Array(mem.buffer), 0)).toBe(3000);
  });
});
