import { describe, expect, test } from "vitest";
import type { FunctionBuilder } from "../../src/backends/wasm/asm/index.js";
import { ModuleBuilder } from "../../src/backends/wasm/asm/index.js";
import { addr4, sharedMemory } from "./helpers.js";

type Input = Float32Array | Float64Array | Int32Array | Uint32Array | Int8Array | Uint8Array | Int16Array | BigInt64Array;

/**
 * Builds `run()` that loads v128 operands a, b, c (locals 0..2) from bytes 0, 16, 32,
 * lets `body` push one v128 and stores it at byte 48. Returns a runner giving the result bytes.
 */
function v128Kernel(body: (f: FunctionBuilder) => void): (...inputs: Input[]) => ArrayBuffer {
  const m = new ModuleBuilder({ debug: true });
  m.memory({ initial: 1 }, "mem");
  m.func({ locals: ["v128", "v128", "v128"], export: "run" }, (f) => {
    for (let k = 0; k < 3; k++) f.i32.const(16 * k).v128.load().local.set(k);
    f.i32.const(48);
    body(f);
    f.v128.store();
  });
  const e = m.instantiate<{ run(): void; mem: { buffer: ArrayBuffer } }>().exports;
  return (...inputs) => {
    const bytes = new Uint8Array(e.mem.buffer);
    bytes.fill(0, 0, 64);
    inputs.forEach((x, k) => bytes.set(new Uint8Array(x.buffer, x.byteOffset, 16), 16 * k));
    e.run();
    return e.mem.buffer.slice(48, 64);
  };
}

const f32 = (b: ArrayBuffer): number[] => Array.from(new Float32Array(b));
const f64 = (b: ArrayBuffer): number[] => Array.from(new Float64Array(b));
const i32 = (b: ArrayBuffer): number[] => Array.from(new Int32Array(b));
const u32 = (b: ArrayBuffer): number[] => Array.from(new Uint32Array(b));
const u8 = (b: ArrayBuffer): number[] => Array.from(new Uint8Array(b));
const F = (...v: number[]) => Float32Array.from(v);
const I = (...v: number[]) => Int32Array.from(v);

/** y[i] = a * x[i] + y[i]: f32x4 main loop over n & ~3 elements, then a scalar tail. */
function buildAxpy(m: ModuleBuilder): void {
  m.func({ name: "axpy", params: ["f32", "i32", "i32", "i32"], export: true }, (f) => {
    const [a, x, y, n] = [0, 1, 2, 3];
    const i = f.addLocal("i32");
    const n4 = f.addLocal("i32");
    const av = f.addLocal("v128");
    f.local.get(a).f32x4.splat().local.set(av);
    f.local.get(n).i32.const(~3).i32.and().local.set(n4);

    f.block("void", "vdone").loop("void", "vloop");
    f.local.get(i).local.get(n4).i32.ge_u().br_if("vdone");
    addr4(f, y, i); // store address
    f.local.get(av);
    addr4(f, x, i).v128.load().f32x4.mul();
    addr4(f, y, i).v128.load().f32x4.add();
    f.v128.store();
    f.local.get(i).i32.const(4).i32.add().local.set(i);
    f.br("vloop").end().end();

    f.block("void", "sdone").loop("void", "sloop");
    f.local.get(i).local.get(n).i32.ge_u().br_if("sdone");
    addr4(f, y, i);
    f.local.get(a);
    addr4(f, x, i).f32.load().f32.mul();
    addr4(f, y, i).f32.load().f32.add();
    f.f32.store();
    f.local.get(i).i32.const(1).i32.add().local.set(i);
    f.br("sloop").end().end();
  });
}

describe("SIMD kernels", () => {
  test("f32x4 axpy with scalar tail matches JS f32 arithmetic exactly", () => {
    const mem = sharedMemory(2, 2);
    const m = new ModuleBuilder({ debug: true });
    m.importMemory("env", "memory", { initial: 2, maximum: 2, shared: true });
    buildAxpy(m);
    const { axpy } = m.instantiate<{ axpy(a: number, x: number, y: number, n: number): void }>({
      env: { memory: mem },
    }).exports;
    for (const n of [0, 1, 3, 4, 5, 8, 1000, 1003]) {
      const x = new Float32Array(mem.buffer, 0, n);
      const y = new Float32Array(mem.buffer, 8192, n + 4); // +4 guards against overrun
      for (let k = 0; k < n; k++) {
        x[k] = Math.cos(k * 0.37) * 3;
        y[k] = Math.sin(k * 0.11) - 0.5;
      }
      y.fill(-7, n);
      const a = 1.2345;
      const expected = Array.from(y.subarray(0, n), (yk, k) => Math.fround(Math.fround(Math.fround(a) * (x[k] as number)) + yk));
      axpy(a, 0, 8192, n);
      expect(Array.from(y.subarray(0, n))).toEqual(expected);
      expect(Array.from(y.subarray(n))).toEqual([-7, -7, -7, -7]);
    }
  });

  test("f32x4 reduction with a shuffle-based horizontal sum", () => {
    const m = new ModuleBuilder({ debug: true });
    m.memory({ initial: 1 }, "mem");
    // n must be a multiple of 4 here; sums lanes separately then folds them.
    m.func({ name: "hsum", params: ["i32", "i32"], results: ["f32"], locals: ["i32", "v128"], export: true }, (f) => {
      const [p, n, i, acc] = [0, 1, 2, 3];
      f.block("void", "done").loop("void", "l");
      f.local.get(i).local.get(n).i32.ge_u().br_if("done");
      f.local.get(acc);
      addr4(f, p, i).v128.load().f32x4.add().local.set(acc);
      f.local.get(i).i32.const(4).i32.add().local.set(i);
      f.br("l").end().end();
      // acc + [acc2, acc3, ...], then lane0 + lane1
      f.local.get(acc).local.get(acc).local.get(acc);
      f.i8x16.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).f32x4.add().local.set(acc);
      f.local.get(acc).local.get(acc).local.get(acc);
      f.i8x16.shuffle([4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]).f32x4.add().f32x4.extract_lane(0);
    });
    const e = m.instantiate<{ hsum(p: number, n: number): number; mem: { buffer: ArrayBuffer } }>().exports;
    const data = new Float32Array(e.mem.buffer, 0, 400);
    for (let k = 0; k < data.length; k++) data[k] = 1 / (k + 1);
    const lanes = [0, 0, 0, 0];
    for (let k = 0; k < data.length; k++) lanes[k % 4] = Math.fround((lanes[k % 4] as number) + (data[k] as number));
    const [l0, l1, l2, l3] = lanes as [number, number, number, number];
    const expected = Math.fround(Math.fround(l0 + l2) + Math.fround(l1 + l3));
    expect(e.hsum(0, 400)).toBe(expected);
  });
});

describe("v128 lane ops", () => {
  test("i8x16.shuffle reverses and interleaves lanes", () => {
    const reverse = v128Kernel((f) => f.local.get(0).local.get(0).i8x16.shuffle([12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]));
    expect(f32(reverse(F(1, 2, 3, 4)))).toEqual([4, 3, 2, 1]);
    const zip = v128Kernel((f) =>
      f.local.get(0).local.get(1).i8x16.shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]),
    );
    expect(i32(zip(I(1, 2, 3, 4), I(-1, -2, -3, -4)))).toEqual([1, -1, 2, -2]);
  });

  test("i8x16.swizzle zeroes out-of-range indices", () => {
    const swz = v128Kernel((f) => f.local.get(0).local.get(1).i8x16.swizzle());
    const src = Uint8Array.from({ length: 16 }, (_, k) => 100 + k);
    const idx = Uint8Array.from([15, 0, 1, 16, 255, 3, 3, 3, 7, 6, 5, 4, 200, 2, 1, 0]);
    expect(u8(swz(src, idx))).toEqual([115, 100, 101, 0, 0, 103, 103, 103, 107, 106, 105, 104, 0, 102, 101, 100]);
  });

  test("splat, extract_lane and replace_lane across shapes", () => {
    const m = new ModuleBuilder({ debug: true });
    m.func({ params: ["f32"], results: ["f32"], export: "f32lane2" }, (f) =>
      f.local.get(0).f32x4.splat().f32.const(9).f32x4.replace_lane(2).f32x4.extract_lane(2),
    );
    m.func({ params: ["f32"], results: ["f32"], export: "f32lane1" }, (f) =>
      f.local.get(0).f32x4.splat().f32.const(9).f32x4.replace_lane(2).f32x4.extract_lane(1),
    );
    m.func({ params: ["i32"], results: ["i32"], export: "i8s" }, (f) => f.local.get(0).i8x16.splat().i8x16.extract_lane_s(15));
    m.func({ params: ["i32"], results: ["i32"], export: "i8u" }, (f) => f.local.get(0).i8x16.splat().i8x16.extract_lane_u(15));
    m.func({ params: ["i32"], results: ["i32"], export: "i16s" }, (f) =>
      f.v128.const_i16x8(0, 0, 0, 0, 0, 0, 0, 0).local.get(0).i16x8.replace_lane(7).i16x8.extract_lane_s(7),
    );
    m.func({ params: ["i64"], results: ["i64"], export: "i64x2" }, (f) =>
      f.v128.const_i64x2(1n, 2n).local.get(0).i64x2.replace_lane(1).i64x2.extract_lane(1),
    );
    m.func({ results: ["f64"], export: "f64x2" }, (f) => f.v128.const_f64x2(0.5, -1e200).f64x2.extract_lane(1));
    m.func({ results: ["i32"], export: "i32x4" }, (f) => f.v128.const_i32x4(1, 2, 0xffffffff, 4).i32x4.extract_lane(2));
    const e = m.instantiate<Record<string, (x?: number | bigint) => number | bigint>>().exports;
    expect(e.f32lane2!(1.5)).toBe(9);
    expect(e.f32lane1!(1.5)).toBe(1.5);
    expect(e.i8s!(0xff)).toBe(-1);
    expect(e.i8u!(0xff)).toBe(255);
    expect(e.i16s!(0x8000)).toBe(-32768);
    expect(e.i64x2!(-5n)).toBe(-5n);
    expect(e.f64x2!()).toBe(-1e200);
    expect(e.i32x4!()).toBe(-1);
  });

  test("comparisons produce lane masks; bitselect picks by mask", () => {
    const lt = v128Kernel((f) => f.local.get(0).local.get(1).f32x4.lt());
    expect(i32(lt(F(1, 5, -1, Number.NaN), F(2, 5, -2, 0)))).toEqual([-1, 0, 0, 0]);
    const sel = v128Kernel((f) => f.local.get(0).local.get(1).local.get(0).local.get(1).f32x4.lt().v128.bitselect());
    expect(f32(sel(F(1, 5, -1, 8), F(2, 4, -2, 8)))).toEqual([1, 4, -2, 8]);
    const ieq = v128Kernel((f) => f.local.get(0).local.get(1).i32x4.eq().i32x4.bitmask().i32x4.splat());
    expect(i32(ieq(I(1, 2, 3, 4), I(1, 0, 3, 0)))[0]).toBe(0b0101);
    const anyTrue = v128Kernel((f) => f.local.get(0).v128.any_true().i32x4.splat());
    expect(i32(anyTrue(I(0, 0, 0, 0)))[0]).toBe(0);
    expect(i32(anyTrue(I(0, 0, 1, 0)))[0]).toBe(1);
  });

  test("min/max/pmin/pmax follow their NaN and signed-zero rules", () => {
    const a = F(1, Number.NaN, -0, 3);
    const b = F(2, 5, 0, Number.NaN);
    const op = (name: "min" | "max" | "pmin" | "pmax") => v128Kernel((f) => f.local.get(0).local.get(1).f32x4[name]());
    expect(f32(op("min")(a, b))).toEqual([1, Number.NaN, -0, Number.NaN]);
    expect(f32(op("max")(a, b))).toEqual([2, Number.NaN, 0, Number.NaN]);
    // pmin = b < a ? b : a; pmax = a < b ? b : a
    expect(f32(op("pmin")(a, b))).toEqual([1, Number.NaN, -0, 3]);
    expect(f32(op("pmax")(a, b))).toEqual([2, Number.NaN, -0, 3]);
  });

  test("unary float ops and f64x2 arithmetic", () => {
    const x = F(4, 2, -9, 0.1);
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.abs().f32x4.sqrt())(x))).toEqual(
      [4, 2, -9, 0.1].map((v) => Math.fround(Math.sqrt(Math.fround(Math.abs(Math.fround(v)))))),
    );
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.neg())(x))).toEqual([-4, -2, 9, -Math.fround(0.1)]);
    expect(f32(v128Kernel((f) => f.local.get(0).local.get(1).f32x4.div())(x, F(3, 3, 3, 3)))).toEqual(
      [4, 2, -9, Math.fround(0.1)].map((v) => Math.fround(v / 3)),
    );
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.floor())(F(1.5, -1.5, 2, -0.2)))).toEqual([1, -2, 2, -1]);
    const d = Float64Array.from([0.1, -3]);
    const e = Float64Array.from([0.2, 0.5]);
    expect(f64(v128Kernel((f) => f.local.get(0).local.get(1).f64x2.add().local.get(1).f64x2.mul())(d, e))).toEqual([
      (0.1 + 0.2) * 0.2,
      (-3 + 0.5) * 0.5,
    ]);
  });

  test("integer arithmetic: i32x4 mul/shifts, dot product, extmul", () => {
    expect(i32(v128Kernel((f) => f.local.get(0).local.get(1).i32x4.mul())(I(3, -4, 65536, 7), I(5, 6, 65536, -1)))).toEqual([
      15, -24, 0, -7,
    ]);
    expect(i32(v128Kernel((f) => f.local.get(0).i32.const(33).i32x4.shl())(I(1, 2, -1, 3)))).toEqual([2, 4, -2, 6]); // count mod 32
    expect(i32(v128Kernel((f) => f.local.get(0).i32.const(1).i32x4.shr_s())(I(-8, 8, -1, 3)))).toEqual([-4, 4, -1, 1]);
    const a16 = Int16Array.from([1, 2, 3, 4, -5, 6, 7, 8]);
    const b16 = Int16Array.from([10, 20, 30, 40, 50, 60, 70, 80]);
    expect(i32(v128Kernel((f) => f.local.get(0).local.get(1).i32x4.dot_i16x8_s())(a16, b16))).toEqual([50, 250, 110, 1130]);
    expect(i32(v128Kernel((f) => f.local.get(0).local.get(1).i32x4.extmul_high_i16x8_s())(a16, b16))).toEqual([-250, 360, 490, 640]);
  });

  test("convert and truncate between f32x4/f64x2 and i32x4", () => {
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.convert_i32x4_s())(I(1, -2, 16777217, -2147483648)))).toEqual([
      1, -2, 16777216, -2147483648,
    ]);
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.convert_i32x4_u())(I(-1, 0, 1, 2)))).toEqual([4294967296, 0, 1, 2]);
    expect(i32(v128Kernel((f) => f.local.get(0).i32x4.trunc_sat_f32x4_s())(F(1e10, -1e10, Number.NaN, -2.7)))).toEqual([
      2147483647, -2147483648, 0, -2,
    ]);
    expect(u32(v128Kernel((f) => f.local.get(0).i32x4.trunc_sat_f32x4_u())(F(-5, 3e9, 1e12, 7.9)))).toEqual([
      0, 3000000000, 4294967295, 7,
    ]);
    expect(f64(v128Kernel((f) => f.local.get(0).f64x2.convert_low_i32x4_s())(I(-7, 1 << 30, 5, 5)))).toEqual([-7, 1 << 30]);
    expect(f64(v128Kernel((f) => f.local.get(0).f64x2.promote_low_f32x4())(F(0.1, -2, 9, 9)))).toEqual([Math.fround(0.1), -2]);
    expect(f32(v128Kernel((f) => f.local.get(0).f32x4.demote_f64x2_zero())(Float64Array.from([0.1, 1e300])))).toEqual([
      Math.fround(0.1), Number.POSITIVE_INFINITY, 0, 0,
    ]);
    expect(i32(v128Kernel((f) => f.local.get(0).i32x4.trunc_sat_f64x2_s_zero())(Float64Array.from([-3.5, 1e20])))).toEqual([
      -3, 2147483647, 0, 0,
    ]);
  });

  test("v128 constants in every shape", () => {
    expect(u8(v128Kernel((f) => f.v128.const([...Array(16).keys()]))())).toEqual([...Array(16).keys()]);
    expect(f32(v128Kernel((f) => f.v128.const_f32x4(1.5, -0, Number.POSITIVE_INFINITY, 3))())).toEqual([1.5, -0, Infinity, 3]);
    expect(i32(v128Kernel((f) => f.v128.const_i32x4(-1, 0x7fffffff, 0, 42))())).toEqual([-1, 0x7fffffff, 0, 42]);
    expect(Array.from(new Int8Array(v128Kernel((f) => f.v128.const_i8x16(-128, 127, ...Array(14).fill(1)))()))).toEqual([
      -128, 127, ...Array(14).fill(1),
    ]);
    expect(Array.from(new BigInt64Array(v128Kernel((f) => f.v128.const_i64x2(-(2n ** 63n), 2n ** 64n - 1n))()))).toEqual([
      -(2n ** 63n),
      -1n,
    ]);
  });
});

describe("v128 memory ops", () => {
  test("splat/zero/lane/extending loads and lane stores with offsets", () => {
    const m = new ModuleBuilder({ debug: true });
    m.memory({ initial: 1 }, "mem");
    const out = 512;
    const kernel = (name: string, body: (f: FunctionBuilder) => void) =>
      m.func({ params: ["i32"], export: name }, (f) => {
        f.i32.const(out);
        body(f);
        f.v128.store();
      });
    kernel("splat", (f) => f.local.get(0).v128.load32_splat());
    kernel("zero", (f) => f.local.get(0).v128.load32_zero(2, 4)); // loads p+4
    kernel("lane", (f) => f.local.get(0).v128.const_f32x4(0, 0, 0, 0).v128.load32_lane(3, { offset: 8 }));
    kernel("ext", (f) => f.local.get(0).v128.load8x8_s());
    kernel("splat64", (f) => f.local.get(0).v128.load64_splat());
    kernel("unaligned", (f) => f.local.get(0).v128.load(0, 1)); // byte-aligned access at p+1
    m.func({ params: ["i32"], export: "storeLane" }, (f) => {
      f.i32.const(out).v128.const_i32x4(11, 22, 33, 44).v128.store32_lane(2, 2, 4); // writes 33 at out+4
    });
    const e = m.instantiate<Record<string, (p: number) => void> & { mem: { buffer: ArrayBuffer } }>().exports;
    const mem = e.mem.buffer;
    const src = new Float32Array(mem, 64, 4);
    src.set([1.25, 2.5, 3.75, 5]);
    const run = (name: string, p: number) => {
      new Uint8Array(mem, out, 16).fill(0xaa);
      e[name]!(p);
      return mem.slice(out, out + 16);
    };
    expect(f32(run("splat", 68))).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(f32(run("zero", 68))).toEqual([3.75, 0, 0, 0]);
    expect(f32(run("lane", 64))).toEqual([0, 0, 0, 3.75]);
    new Int8Array(mem, 128, 8).set([-1, 2, -3, 4, -128, 127, 0, 9]);
    expect(Array.from(new Int16Array(run("ext", 128)))).toEqual([-1, 2, -3, 4, -128, 127, 0, 9]);
    expect(f64(run("splat64", 64)).map((v) => new Float32Array(Float64Array.of(v).buffer)[0])).toEqual([1.25, 1.25]);
    new Uint8Array(mem, 256, 17).set([...Array(17).keys()]);
    expect(u8(run("unaligned", 256))).toEqual([...Array(16).keys()].map((k) => k + 1));
    new Uint8Array(mem, out, 16).fill(0);
    e.storeLane!(0);
    expect(i32(mem.slice(out, out + 16))).toEqual([0, 33, 0, 0]);
  });
});
