import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ByteWriter, decodeSLEB128, decodeULEB128, encodeS32, encodeS64, encodeU32, encodeU64,
} from "../../src/backends/wasm/asm/index.js";

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

describe("LEB128", () => {
  test.each([
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "80 01"],
    [300, "ac 02"],
    [16384, "80 80 01"],
    [624485, "e5 8e 26"],
    [0x7fffffff, "ff ff ff ff 07"],
    [0xffffffff, "ff ff ff ff 0f"],
  ])("u32 %i -> %s", (v, bytes) => {
    expect(hex(encodeU32(v))).toBe(bytes);
  });

  test.each([
    [0, "00"],
    [-1, "7f"],
    [63, "3f"],
    [64, "c0 00"],
    [-64, "40"],
    [-65, "bf 7f"],
    [127, "ff 00"],
    [-128, "80 7f"],
    [624485, "e5 8e 26"],
    [-123456, "c0 bb 78"],
    [2 ** 31 - 1, "ff ff ff ff 07"],
    [-(2 ** 31), "80 80 80 80 78"],
  ])("s32 %i -> %s", (v, bytes) => {
    expect(hex(encodeS32(v))).toBe(bytes);
  });

  test.each([
    [0n, "00"],
    [-1n, "7f"],
    [-123456n, "c0 bb 78"],
    [2n ** 31n - 1n, "ff ff ff ff 07"],
    [2n ** 32n, "80 80 80 80 10"],
    [2n ** 63n - 1n, "ff ff ff ff ff ff ff ff ff 00"],
    [-(2n ** 63n), "80 80 80 80 80 80 80 80 80 7f"],
    // Unsigned bit patterns are accepted and encoded as their signed twin.
    [2n ** 64n - 1n, "7f"],
    [2n ** 63n, "80 80 80 80 80 80 80 80 80 7f"],
  ])("s64 %s -> %s", (v, bytes) => {
    expect(hex(encodeS64(v))).toBe(bytes);
  });

  test.each([
    [0n, "00"],
    [624485n, "e5 8e 26"],
    [2n ** 64n - 1n, "ff ff ff ff ff ff ff ff ff 01"],
  ])("u64 %s -> %s", (v, bytes) => {
    expect(hex(encodeU64(v))).toBe(bytes);
  });

  test("rejects out-of-range and non-integer values", () => {
    expect(() => encodeU32(-1)).toThrow(RangeError);
    expect(() => encodeU32(2 ** 32)).toThrow(RangeError);
    expect(() => encodeU32(1.5)).toThrow(RangeError);
    expect(() => encodeS32(2 ** 31)).toThrow(RangeError);
    expect(() => encodeS32(-(2 ** 31) - 1)).toThrow(RangeError);
    expect(() => encodeS64(2n ** 64n)).toThrow(RangeError);
    expect(() => encodeS64(-(2n ** 63n) - 1n)).toThrow(RangeError);
    expect(() => encodeU64(-1n)).toThrow(RangeError);
  });

  test("decoders read what the encoders wrote, with lengths", () => {
    expect(decodeULEB128([0xe5, 0x8e, 0x26, 0xff])).toEqual({ value: 624485n, length: 3 });
    expect(decodeSLEB128([0xc0, 0xbb, 0x78])).toEqual({ value: -123456n, length: 3 });
    expect(decodeSLEB128([0x00, 0x7f], 1)).toEqual({ value: -1n, length: 1 });
    expect(() => decodeULEB128([0x80, 0x80])).toThrow(/unterminated/);
  });

  test("property: s32/u32/s64 round-trip and use minimal length", () => {
    fc.assert(
      fc.property(fc.integer(), (v) => {
        const b = encodeS32(v);
        expect(decodeSLEB128(b)).toEqual({ value: BigInt(v), length: b.length });
        // minimal: 7 payload bits per byte plus a sign bit
        const bits = v >= 0 ? v.toString(2).length + 1 : (~v).toString(2).length + 1;
        expect(b.length).toBe(Math.max(1, Math.ceil(bits / 7)));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        const b = encodeU32(v);
        expect(decodeULEB128(b)).toEqual({ value: BigInt(v), length: b.length });
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const b = encodeS64(v);
        expect(decodeSLEB128(b).value).toBe(v);
        expect(b.length).toBeLessThanOrEqual(10);
      }),
    );
  });
});

describe("ByteWriter", () => {
  test("floats are little-endian IEEE", () => {
    expect(hex(new ByteWriter().f32(1).finish())).toBe("00 00 80 3f");
    expect(hex(new ByteWriter().f32(-2.5).finish())).toBe("00 00 20 c0");
    expect(hex(new ByteWriter().f64(1).finish())).toBe("00 00 00 00 00 00 f0 3f");
    expect(hex(new ByteWriter().f64(-0).finish())).toBe("00 00 00 00 00 00 00 80");
    expect(hex(new ByteWriter().f32(Number.POSITIVE_INFINITY).finish())).toBe("00 00 80 7f");
  });

  test("names are length-prefixed UTF-8", () => {
    expect(hex(new ByteWriter().name("env").finish())).toBe("03 65 6e 76");
    expect(hex(new ByteWriter().name("é").finish())).toBe("02 c3 a9");
    expect(hex(new ByteWriter().name("").finish())).toBe("00");
  });

  test("vectors, sized payloads and growth", () => {
    const w = new ByteWriter(1).vec([1, 2, 300], (x, v) => x.u32(v));
    expect(hex(w.finish())).toBe("03 01 02 ac 02");
    const inner = new ByteWriter().u8(0xaa).u8(0xbb);
    expect(hex(new ByteWriter().u8(7).sized(inner).finish())).toBe("07 02 aa bb");
    const big = new ByteWriter(16);
    for (let i = 0; i < 10_000; i++) big.u8(i);
    expect(big.length).toBe(10_000);
    expect(big.finish()[9_999]).toBe(9_999 & 0xff);
  });
});
