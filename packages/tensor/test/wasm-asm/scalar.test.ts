import { describe, expect, test } from "vitest";
import { ModuleBuilder, wasmApi } from "../../src/backends/wasm/asm/index.js";
import { addr4, sharedMemory } from "./helpers.js";

describe("scalar modules", () => {
  test("exact bytes of a minimal add function", () => {
    const m = new ModuleBuilder();
    m.func({ params: ["i32", "i32"], results: ["i32"], export: "add" }, (f) => {
      f.local.get(0).local.get(1).i32.add();
    });
    // prettier-ignore
    expect(Array.from(m.build())).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type section
      0x03, 0x02, 0x01, 0x00, // function section
      0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, // export "add"
      0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // code
    ]);
  });

  test("add functions over i32, i64, f32, f64", () => {
    const m = new ModuleBuilder({ name: "adders" });
    m.func({ name: "add32", params: ["i32", "i32"], results: ["i32"], export: true }, (f) => {
      f.local.get(0).local.get(1).i32.add();
    });
    m.func({ name: "add64", params: ["i64", "i64"], results: ["i64"], export: true }, (f) => {
      f.local.get(0).local.get(1).i64.add();
    });
    m.func({ name: "addf32", params: ["f32", "f32"], results: ["f32"], export: true }, (f) => {
      f.local.get(0).local.get(1).f32.add();
    });
    m.func({ name: "addf64", params: ["f64", "f64"], results: ["f64"], export: true }, (f) => {
      f.local.get(0).local.get(1).f64.add();
    });
    const e = m.instantiate<{
      add32(a: number, b: number): number;
      add64(a: bigint, b: bigint): bigint;
      addf32(a: number, b: number): number;
      addf64(a: number, b: number): number;
    }>().exports;
    expect(e.add32(2, 40)).toBe(42);
    expect(e.add32(0x7fffffff, 1)).toBe(-0x80000000); // wraps
    expect(e.add64(2n ** 62n, 2n ** 62n)).toBe(-(2n ** 63n));
    expect(e.addf32(0.1, 0.2)).toBe(Math.fround(Math.fround(0.1) + Math.fround(0.2)));
    expect(e.addf64(0.1, 0.2)).toBe(0.1 + 0.2);
  });

  test("types are deduplicated", () => {
    const m = new ModuleBuilder();
    const a = m.func({ params: ["f32"], results: ["f32"] });
    const b = m.func({ params: ["f32"], results: ["f32"] });
    const c = m.func({ params: ["i32"] });
    expect(a.typeIndex).toBe(b.typeIndex);
    expect(c.typeIndex).not.toBe(a.typeIndex);
    expect(m.typeCount).toBe(2);
    for (const f of [a, b]) f.local.get(0);
    m.build();
  });

  test("constants: i32 edge values, unsigned patterns, i64 bigint, f32/f64", () => {
    const m = new ModuleBuilder();
    const cases = [0, -1, 63, 64, -65, 0x7fffffff, -0x80000000, 0xffffffff, 0x80000000];
    cases.forEach((v, i) => m.func({ results: ["i32"], export: `i${i}` }, (f) => f.i32.const(v)));
    const i64s = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 123456789012345n];
    i64s.forEach((v, i) => m.func({ results: ["i64"], export: `l${i}` }, (f) => f.i64.const(v)));
    m.func({ results: ["i64"], export: "lnum" }, (f) => f.i64.const(-42));
    m.func({ results: ["f32"], export: "f" }, (f) => f.f32.const(0.1));
    m.func({ results: ["f64"], export: "d" }, (f) => f.f64.const(-1e300));
    const e = m.instantiate<Record<string, () => number | bigint>>().exports;
    cases.forEach((v, i) => expect(e[`i${i}`]!()).toBe(v | 0));
    i64s.forEach((v, i) => expect(e[`l${i}`]!()).toBe(BigInt.asIntN(64, v)));
    expect(e.lnum!()).toBe(-42n);
    expect(e.f!()).toBe(Math.fround(0.1));
    expect(e.d!()).toBe(-1e300);
  });

  test("loop summing an f32 array in an imported shared memory", () => {
    const mem = sharedMemory(1, 4);
    const m = new ModuleBuilder({ debug: true });
    m.importMemory("env", "memory", { initial: 1, maximum: 4, shared: true });
    m.func({ name: "sum", params: ["i32", "i32"], results: ["f32"], locals: ["i32", "f32"], export: true }, (f) => {
      const [ptr, n, i, acc] = [0, 1, 2, 3];
      f.block("void", "done").loop("void", "next");
      f.local.get(i).local.get(n).i32.ge_u().br_if("done");
      addr4(f, ptr, i).f32.load().local.get(acc).f32.add().local.set(acc);
      f.local.get(i).i32.const(1).i32.add().local.set(i);
      f.br("next");
      f.end().end();
      f.local.get(acc);
    });
    const { sum } = m.instantiate<{ sum(p: number, n: number): number }>({ env: { memory: mem } }).exports;
    const data = new Float32Array(mem.buffer, 64, 777);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 10;
    let expected = 0;
    for (const v of data) expected = Math.fround(expected + v);
    expect(sum(64, 777)).toBe(expected);
    expect(sum(64, 0)).toBe(0);
    expect(sum(64 + 4 * 10, 1)).toBe(data[10]);
  });

  test("if/else with result, select, br_table, call and imported functions", () => {
    const log: number[] = [];
    const m = new ModuleBuilder({ debug: true });
    const report = m.importFunction("env", "report", { params: ["i32"], results: [] }, "report");
    const sq = m.func({ name: "sq", params: ["i32"], results: ["i32"] }, (f) => f.local.get(0).local.get(0).i32.mul());
    m.func({ name: "abs", params: ["i32"], results: ["i32"], export: true }, (f) => {
      f.local.get(0).i32.const(0).i32.lt_s();
      f.if("i32").i32.const(0).local.get(0).i32.sub().else().local.get(0).end();
    });
    m.func({ name: "max", params: ["f64", "f64"], results: ["f64"], export: true }, (f) => {
      f.local.get(0).local.get(1).local.get(0).local.get(1).f64.gt().select();
    });
    // switch (x) { 0 -> 10, 1 -> 20, default -> 30 }, reporting sq(x) first
    m.func({ name: "sw", params: ["i32"], results: ["i32"], export: true }, (f) => {
      f.local.get(0).call(sq).call(report);
      f.block("void", "d").block("void", "one").block("void", "zero");
      f.local.get(0).br_table(["zero", "one"], "d");
      f.end().i32.const(10).return();
      f.end().i32.const(20).return();
      f.end().i32.const(30);
    });
    expect(m.functionCount).toBe(5);
    const e = m.instantiate<{ abs(x: number): number; max(a: number, b: number): number; sw(x: number): number }>({
      env: { report: (x: number) => log.push(x) },
    }).exports;
    expect([e.abs(-5), e.abs(7), e.abs(0)]).toEqual([5, 7, 0]);
    expect([e.max(1, 2), e.max(3, -1)]).toEqual([2, 3]);
    expect([e.sw(0), e.sw(1), e.sw(2), e.sw(9)]).toEqual([10, 20, 30, 30]);
    expect(log).toEqual([0, 1, 4, 81]);
  });

  test("multi-value block type goes through the type section", () => {
    const m = new ModuleBuilder({ debug: true });
    m.func({ params: ["i32", "i32", "i32"], results: ["i32"], export: "f" }, (f) => {
      f.local.get(0).local.get(1);
      f.block({ params: ["i32", "i32"], results: ["i32"] }).i32.sub().end();
      f.local.get(2).i32.mul();
    });
    expect(m.typeCount).toBe(2);
    expect(m.instantiate<{ f(a: number, b: number, c: number): number }>().exports.f(10, 3, 2)).toBe(14);
  });

  test("conversions, bit ops and saturating truncation", () => {
    const m = new ModuleBuilder({ debug: true });
    m.func({ params: ["f32"], results: ["i32"], export: "sat" }, (f) => f.local.get(0).i32.trunc_sat_f32_s());
    m.func({ params: ["i32"], results: ["i32"], export: "popcnt" }, (f) => f.local.get(0).i32.popcnt());
    m.func({ params: ["i32"], results: ["i64"], export: "widen" }, (f) => f.local.get(0).i64.extend_i32_u());
    m.func({ params: ["f64"], results: ["f32"], export: "demote" }, (f) => f.local.get(0).f32.demote_f64());
    m.func({ params: ["f32"], results: ["i32"], export: "bits" }, (f) => f.local.get(0).i32.reinterpret_f32());
    m.func({ params: ["i32"], results: ["i32"], export: "sext8" }, (f) => f.local.get(0).i32.extend8_s());
    const e = m.instantiate<Record<string, (x: number) => number | bigint>>().exports;
    expect(e.sat!(3e9)).toBe(0x7fffffff);
    expect(e.sat!(Number.NaN)).toBe(0);
    expect(e.sat!(-7.9)).toBe(-7);
    expect(e.popcnt!(0xf0f0)).toBe(8);
    expect(e.widen!(-1)).toBe(0xffffffffn);
    expect(e.demote!(1 / 3)).toBe(Math.fround(1 / 3));
    expect(e.bits!(1)).toBe(0x3f800000);
    expect(e.sext8!(0x80)).toBe(-128);
  });

  test("own memory with data segment, export, size/grow, fill/copy and narrow loads", () => {
    const m = new ModuleBuilder({ debug: true });
    m.memory({ initial: 1, maximum: 3 }, "mem");
    m.data(16, [1, 2, 3, 250]);
    m.func({ results: ["i32"], export: "size" }, (f) => f.memory.size());
    m.func({ params: ["i32"], results: ["i32"], export: "grow" }, (f) => f.local.get(0).memory.grow());
    m.func({ params: ["i32"], results: ["i32"], export: "u8" }, (f) => f.local.get(0).i32.load8_u());
    m.func({ params: ["i32"], results: ["i32"], export: "s8" }, (f) => f.local.get(0).i32.load8_s(0, 0));
    m.func({ params: ["i32"], results: ["i32"], export: "u16off" }, (f) => f.local.get(0).i32.load16_u({ align: 0, offset: 2 }));
    m.func({ params: ["i32", "i32", "i32"], export: "fill" }, (f) => f.local.get(0).local.get(1).local.get(2).memory.fill());
    m.func({ params: ["i32", "i32", "i32"], export: "copy" }, (f) => f.local.get(0).local.get(1).local.get(2).memory.copy());
    const e = m.instantiate<{
      mem: { buffer: ArrayBuffer };
      size(): number;
      grow(n: number): number;
      u8(p: number): number;
      s8(p: number): number;
      u16off(p: number): number;
      fill(d: number, v: number, n: number): void;
      copy(d: number, s: number, n: number): void;
    }>().exports;
    expect(Array.from(new Uint8Array(e.mem.buffer, 16, 4))).toEqual([1, 2, 3, 250]);
    expect([e.u8(19), e.s8(19)]).toEqual([250, -6]);
    expect(e.u16off(16)).toBe(3 | (250 << 8));
    e.fill(100, 7, 3);
    e.copy(103, 16, 2);
    expect(Array.from(new Uint8Array(e.mem.buffer, 100, 6))).toEqual([7, 7, 7, 1, 2, 0]);
    expect(e.size()).toBe(1);
    expect(e.grow(2)).toBe(1);
    expect(e.size()).toBe(3);
    expect(e.grow(1)).toBe(-1); // past maximum
  });

  test("names appear in engine stack traces via the name section", () => {
    const m = new ModuleBuilder({ name: "traps" });
    m.func({ name: "kernel_boom", export: "boom" }, (f) => f.unreachable());
    const { boom } = m.instantiate<{ boom(): void }>().exports;
    let stack = "";
    try {
      boom();
    } catch (e) {
      stack = String((e as Error).stack);
    }
    expect(stack).toMatch(/unreachable/);
    expect(stack).toContain("kernel_boom");
  });

  test("the assembler needs WebAssembly and finds it", () => {
    expect(typeof wasmApi().validate).toBe("function");
  });
});
