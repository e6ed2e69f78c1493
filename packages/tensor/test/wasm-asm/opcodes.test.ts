import { describe, expect, test } from "vitest";
import type { FunctionBuilder, ValType } from "../../src/backends/wasm/asm/index.js";
import { ModuleBuilder, opcodes, wasmApi } from "../../src/backends/wasm/asm/index.js";
import { runNode, toBase64 } from "./helpers.js";

const O = opcodes;

function codes(...tables: object[]): number[] {
  const out: number[] = [];
  for (const t of tables) {
    for (const [k, v] of Object.entries(t)) {
      if (k === "lanes") continue;
      out.push(Array.isArray(v) ? (v[0] as number) : (v as number));
    }
  }
  return out;
}

const dups = (xs: number[]): number[] => xs.filter((x, i) => xs.indexOf(x) !== i);

describe("opcode tables", () => {
  test("no opcode is used twice within a prefix", () => {
    const none = codes(O.OP, O.I32_OPS, O.I64_OPS, O.F32_OPS, O.F64_OPS, O.I32_MEM, O.I64_MEM, O.F32_MEM, O.F64_MEM);
    const misc = codes(O.I32_SAT_OPS, O.I64_SAT_OPS, O.MISC);
    const atomic = codes(O.I32_ATOMIC, O.I64_ATOMIC, O.MEMORY_ATOMIC, { fence: O.ATOMIC_FENCE });
    const simd = codes(
      O.V128_OPS, O.V128_MEM, O.V128_LANE_MEM, O.I8X16_OPS, O.I16X8_OPS, O.I32X4_OPS, O.I64X2_OPS, O.F32X4_OPS,
      O.F64X2_OPS, ...Object.values(O.LANE_OPS), { c: O.V128_CONST, s: O.I8X16_SHUFFLE },
    );
    expect(dups(none)).toEqual([]);
    expect(dups(misc)).toEqual([]);
    expect(dups(atomic)).toEqual([]);
    expect(dups(simd)).toEqual([]);
    // Every final SIMD128 opcode (236 of 0x00..0xff; these 20 are unassigned) plus the 20 relaxed ones.
    const holes = [0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee];
    const expected = [...Array(0x100).keys()].filter((c) => !holes.includes(c));
    expect(simd.filter((c) => c < 0x100).sort((a, b) => a - b)).toEqual(expected);
    expect(simd.filter((c) => c >= 0x100).sort((a, b) => a - b)).toEqual([...Array(20).keys()].map((k) => 0x100 + k));
    expect(atomic).toHaveLength(4 + 27 + 36);
  });
});

// ---- every generated method emits an instruction the engine accepts ----

const T: ValType[] = ["i32", "i64", "f32", "f64", "v128"];
const SCALARS: ValType[] = ["i32", "i64", "f32", "f64"];
const PARAMS: ValType[][] = [
  [],
  ...T.flatMap((t): ValType[][] => [[t], [t, t], [t, t, t]]),
  ...SCALARS.flatMap((s): ValType[][] => [["v128", s], ["i32", s]]),
  ["i32", "v128"],
  ["i32", "i32", "i64"],
  ["i32", "i64", "i64"],
];
const RESULTS: ValType[][] = [[], ...T.map((t) => [t])];

const NAMESPACES = ["i32", "i64", "f32", "f64", "v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2", "memory", "atomic"] as const;
// Methods whose immediates need real arguments; covered by behavioural tests.
const SKIP = new Set(["v128.const", "v128.const_i8x16", "v128.const_i16x8", "v128.const_i32x4", "v128.const_i64x2", "v128.const_f32x4", "v128.const_f64x2", "i8x16.shuffle"]);

function call(f: FunctionBuilder, ns: string, method: string): void {
  const fn = (f as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[ns]![method]!;
  const target = (f as unknown as Record<string, object>)[ns];
  try {
    fn.call(target);
  } catch (e) {
    if (!(e instanceof Error && /lane|const/.test(e.message))) throw e;
    fn.call(target, 0); // lane-indexed op or integer constant
  }
}

/** One candidate module per plausible signature: params pushed in order, `ns.method` applied. */
function candidates(ns: string, method: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const params of PARAMS) {
    for (const results of RESULTS) {
      const m = new ModuleBuilder({ debug: false });
      m.importMemory("env", "memory", { initial: 1, maximum: 1, shared: true });
      m.func({ params, results }, (f) => {
        params.forEach((_, i) => f.local.get(i));
        call(f, ns, method);
      });
      out.push(m.build());
    }
  }
  return out;
}

function allMethods(): { ns: string; method: string; relaxed: boolean }[] {
  const probe = new ModuleBuilder({ debug: false }).func();
  const out: { ns: string; method: string; relaxed: boolean }[] = [];
  for (const ns of NAMESPACES) {
    const obj = (probe as unknown as Record<string, object>)[ns]!;
    for (const method in obj) {
      if (SKIP.has(`${ns}.${method}`)) continue;
      out.push({ ns, method, relaxed: method.startsWith("relaxed_") });
    }
  }
  return out;
}

describe("generated instruction methods", () => {
  const methods = allMethods();

  test("cover the tables", () => {
    expect(methods.length).toBeGreaterThan(420);
    expect(methods.filter((m) => m.relaxed)).toHaveLength(20);
  });

  test("every non-relaxed method validates under some stack signature", () => {
    const api = wasmApi();
    const failures = methods
      .filter((m) => !m.relaxed)
      .filter(({ ns, method }) => !candidates(ns, method).some((b) => api.validate(b)))
      .map(({ ns, method }) => `${ns}.${method}`);
    expect(failures).toEqual([]);
  });

  test("every relaxed-SIMD method validates under --experimental-wasm-relaxed-simd", () => {
    const relaxed = methods.filter((m) => m.relaxed);
    const payload = JSON.stringify(relaxed.map(({ ns, method }) => [`${ns}.${method}`, candidates(ns, method).map(toBase64)]));
    const script = `
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const out = {};
        for (const [name, mods] of JSON.parse(s)) out[name] = mods.some((b) => WebAssembly.validate(Buffer.from(b, "base64")));
        process.stdout.write(JSON.stringify(out));
      });`;
    const r = runNode(["--experimental-wasm-relaxed-simd"], script, payload) ?? runNode([], script, payload);
    expect(r?.status, r?.stderr).toBe(0);
    const valid = JSON.parse(r!.stdout) as Record<string, boolean>;
    expect(Object.keys(valid)).toHaveLength(20);
    expect(Object.entries(valid).filter(([, ok]) => !ok)).toEqual([]);
  });
});
