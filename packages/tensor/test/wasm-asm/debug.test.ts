import { afterEach, describe, expect, test, vi } from "vitest";
import type { FunctionBuilder } from "../../src/backends/wasm/asm/index.js";
import { DEBUG_ENV, ModuleBuilder, WasmValidationError, debugLevelFromEnv } from "../../src/backends/wasm/asm/index.js";

/** f32 function that wrongly adds an i32 param: invalid, with a known culprit. */
function badModule(debug?: boolean): ModuleBuilder {
  const m = new ModuleBuilder(debug === undefined ? { name: "bad" } : { debug, name: "bad" });
  m.func({ name: "ok", params: ["f32"], results: ["f32"] }, (f) => f.local.get(0));
  m.func({ name: "broken", params: ["i32", "f32"], results: ["f32"], locals: ["v128"] }, (f) => {
    f.block("f32").local.get(1).f32.const(1).f32.add().end();
    f.local.get(0).f32.add();
  });
  return m;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("debug mode", () => {
  test("invalid module: error carries the engine message and a listing with the culprit marked", () => {
    const err = catchError(() => badModule(true).build());
    expect(err).toBeInstanceOf(WasmValidationError);
    const e = err as WasmValidationError;
    expect(e.engineMessage).toMatch(/f32\.add/);
    expect(e.offset).toBeTypeOf("number");
    expect(e.message).toContain(e.listing);
    // Both functions are listed with their instructions, indented by block depth.
    expect(e.listing).toContain("(func $ok (;0;) (param f32) (result f32)");
    expect(e.listing).toContain("(func $broken (;1;) (param i32 f32) (result f32) (local v128)");
    expect(e.listing).toMatch(/: {3}block \(result f32\)\n/);
    expect(e.listing).toMatch(/: {5}f32\.const 1\n/);
    const marked = e.listing.split("\n").filter((l) => l.startsWith(">>>"));
    expect(marked).toHaveLength(1);
    expect(marked[0]).toMatch(/local\.get 0 ;; i32$/);
    // The marked offset is the engine's offset.
    expect(Number.parseInt(marked[0]!.slice(4, 10), 16)).toBe(e.offset);
  });

  test("compile() without debug still explains the failure, minus the instruction trace", () => {
    const m = badModule(false);
    expect(() => m.build()).not.toThrow(); // no validation when debug is off
    const e = catchError(() => m.compile()) as WasmValidationError;
    expect(e).toBeInstanceOf(WasmValidationError);
    expect(e.listing).toContain("instruction trace off");
    expect(e.listing).not.toContain("f32.const");
  });

  test("listing() of a valid module shows absolute offsets after build", () => {
    const m = new ModuleBuilder({ debug: true });
    m.func({ params: ["i32"], results: ["i32"] }, (f) => f.local.get(0).i32.const(-5).i32.mul());
    const bytes = m.build();
    const lines = m.listing().split("\n").filter((l) => /^ {3} [0-9a-f]{6}: /.test(l));
    expect(lines.map((l) => l.slice(12).trim())).toEqual(["local.get 0 ;; i32", "i32.const -5", "i32.mul", "end"]);
    const first = Number.parseInt(lines[0]!.slice(4, 10), 16);
    expect(bytes[first]).toBe(0x20); // local.get opcode really is there
    expect(bytes[Number.parseInt(lines[3]!.slice(4, 10), 16)]).toBe(0x0b);
  });

  test(`${DEBUG_ENV}=1 turns debug on by default and prints failing listings`, () => {
    vi.stubEnv(DEBUG_ENV, "1");
    expect(debugLevelFromEnv()).toBe(1);
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const m = badModule();
    expect(m.debug).toBe(true);
    expect(() => m.build()).toThrow(WasmValidationError);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0]![0])).toContain(">>>");
  });

  test(`${DEBUG_ENV}=2 prints every module; explicit debug:false stays silent`, () => {
    vi.stubEnv(DEBUG_ENV, "2");
    expect(debugLevelFromEnv()).toBe(2);
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const m = new ModuleBuilder();
    m.func({ results: ["i32"] }, (f) => f.i32.const(7));
    m.build();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0]![0])).toContain("i32.const 7");
    const quiet = new ModuleBuilder({ debug: false });
    quiet.func({ results: ["i32"] }, (f) => f.i32.const(7));
    quiet.build();
    expect(spy).toHaveBeenCalledTimes(1);
  });

  test("debug is off by default without the env var", () => {
    vi.stubEnv(DEBUG_ENV, "");
    expect(debugLevelFromEnv()).toBe(0);
    expect(new ModuleBuilder().debug).toBe(false);
    vi.stubEnv(DEBUG_ENV, "0");
    expect(new ModuleBuilder().debug).toBe(false);
  });
});

describe("misuse is caught with clear errors", () => {
  const fn = (body: (f: FunctionBuilder) => void, params: ("i32" | "f32" | "v128")[] = ["i32"]) => {
    const m = new ModuleBuilder({ debug: true });
    const f = m.func({ name: "k", params });
    return () => {
      body(f);
      m.build();
    };
  };

  test("unbalanced blocks at finish", () => {
    expect(fn((f) => f.block().loop().nop())).toThrow(/func\[0\] "k": unbalanced control flow at finish: 2 unclosed construct\(s\) \[block @\+0, loop @\+2\]/);
    expect(fn((f) => f.end())).toThrow(/end\(\) without an open block/);
    expect(fn((f) => f.block().else())).toThrow(/else\(\) without a matching if/);
    expect(fn((f) => f.local.get(0).if().else().else())).toThrow(/else\(\) without a matching if/);
  });

  test("unknown locals", () => {
    expect(fn((f) => f.local.get(1))).toThrow(/local\.get 1: unknown local; the function has 1 \(1 params, 0 declared locals\)/);
    expect(fn((f) => f.local.set(-1))).toThrow(/unknown local/);
    expect(fn((f) => f.local.tee(0.5))).toThrow(/unknown local/);
    expect(
      fn((f) => {
        const i = f.addLocal("f32", 2);
        expect(i).toBe(1);
        f.f32.const(1).local.set(2);
      }),
    ).not.toThrow();
  });

  test("branch targets", () => {
    expect(fn((f) => f.block().br(2).end())).toThrow(/br 2: branch depth out of range \[0, 1\]/);
    expect(fn((f) => f.block("void", "a").br("b").end())).toThrow(/br \$b: no enclosing block/);
    expect(fn((f) => f.block().br(1).end())).not.toThrow(); // depth 1 = function body
  });

  test("immediates: alignment, offsets, lanes, shuffles, constants", () => {
    expect(fn((f) => f.local.get(0).f32.load(3))).toThrow(/f32\.load: alignment 3 is invalid.*\[0, 2\]/);
    expect(fn((f) => f.local.get(0).v128.load(0, -4))).toThrow(/offset -4 is not a u32/);
    expect(fn((f) => f.local.get(0).i32.const(1).i32.atomic_store(0))).toThrow(/must be naturally aligned/);
    expect(fn((f) => f.local.get(0).v128.load({ offset: 4 }, 8))).toThrow(/MemArg/);
    expect(fn((f) => f.local.get(0).i32x4.splat().i32x4.extract_lane(4))).toThrow(/lane 4 out of range \[0, 4\)/);
    expect(fn((f) => f.local.get(0).i32x4.splat().i32.const(0).v128.load32_lane(4))).toThrow(/lane 4/);
    expect(fn((f) => f.local.get(0).i32x4.splat().local.get(0).i32x4.splat().i8x16.shuffle(Array(16).fill(32)))).toThrow(
      /i8x16\.shuffle: lane 32 out of range/,
    );
    expect(fn((f) => f.i8x16.shuffle([1, 2, 3]))).toThrow(/expected 16 bytes/);
    expect(fn((f) => f.i32.const(2 ** 32))).toThrow(/i32\.const/);
    expect(fn((f) => f.i64.const(2 ** 60))).toThrow(/pass a bigint/);
    expect(fn((f) => f.v128.const_i32x4(1, 2, 3, 4).v128.const([1]))).toThrow(/expected 16 bytes/);
  });

  test("emitting after finish, imports after functions, bad memories and exports", () => {
    const m = new ModuleBuilder();
    const f = m.func({ name: "done" });
    m.build();
    expect(() => f.nop()).toThrow(/after the function was finished/);
    expect(() => m.importFunction("env", "late", { params: [], results: [] })).toThrow(/before defining functions/);
    expect(() => new ModuleBuilder().importMemory("env", "m", { initial: 1, shared: true })).toThrow(/shared memory needs a maximum/);
    expect(() => new ModuleBuilder().memory({ initial: 4, maximum: 2 })).toThrow(/maximum 2 pages/);
    expect(() => new ModuleBuilder().memory({ initial: 1 }).memory({ initial: 1 })).toThrow(/already has a memory/);
    expect(() => new ModuleBuilder().exportMemory("m")).toThrow(/no memory/);
    const dup = new ModuleBuilder();
    dup.func({ export: "x" });
    expect(() => dup.func({ export: "x" })).toThrow(/duplicate export name "x"/);
    expect(() => dup.exportFunction("y", 5)).toThrow(/unknown function index 5/);
    const data = new ModuleBuilder().memory({ initial: 1 }).data(65530, [1, 2, 3, 4, 5, 6, 7]);
    expect(() => data.build()).toThrow(/exceeds the initial memory/);
    expect(() => new ModuleBuilder().func({ params: ["f16" as "f32"] })).toThrow(/unknown value type "f16"/);
  });
});
