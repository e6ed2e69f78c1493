import { describe, expect, test, vi } from "vitest";
import {
  ModuleBuilder, detectFeatures, featureProbe, hasRelaxedSimd, hasSimd128, hasThreads, wasmApi,
} from "../../src/backends/wasm/asm/index.js";
import { runNode, toBase64 } from "./helpers.js";

const [nodeMajor] = process.versions.node.split(".").map(Number) as [number];

describe("feature probes", () => {
  test("return booleans; Node 20+ has SIMD128 and threads", () => {
    const f = detectFeatures();
    expect(Object.values(f).every((v) => typeof v === "boolean")).toBe(true);
    expect(hasSimd128()).toBe(true);
    expect(hasThreads()).toBe(true);
    expect(typeof hasRelaxedSimd()).toBe("boolean");
    expect(f).toEqual({ simd128: hasSimd128(), relaxedSimd: hasRelaxedSimd(), threads: hasThreads() });
    // Node 20 has it behind a V8 flag that hasRelaxedSimd() turns on (unless opted out).
    expect(hasRelaxedSimd()).toBe(process.env.EQUIGRAD_RELAXED_SIMD !== "0");
  });

  test("results are cached", () => {
    detectFeatures();
    const spy = vi.spyOn(wasmApi(), "validate");
    detectFeatures();
    hasSimd128();
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  test("probe modules are well-formed: SIMD/threads validate here", () => {
    expect(wasmApi().validate(featureProbe("simd128"))).toBe(true);
    expect(wasmApi().validate(featureProbe("threads"))).toBe(true);
  });

  test("relaxed SIMD: probe validates and relaxed_madd/nmadd compute under the V8 flag", () => {
    // f32x4: a*b+c and -(a*b)+c on values exact with or without fusion; f64x2 likewise.
    const m = new ModuleBuilder({ debug: false });
    m.memory({ initial: 1 }, "mem");
    m.func({ export: "run" }, (f) => {
      const a = [2, 3, -1, 0.5] as const;
      const b = [4, 5, 6, 8] as const;
      const c = [1, 1, 1, 1] as const;
      f.i32.const(0).v128.const_f32x4(...a).v128.const_f32x4(...b).v128.const_f32x4(...c).f32x4.relaxed_madd().v128.store();
      f.i32.const(16).v128.const_f32x4(...a).v128.const_f32x4(...b).v128.const_f32x4(...c).f32x4.relaxed_nmadd().v128.store();
      f.i32.const(32).v128.const_f64x2(3, -2).v128.const_f64x2(0.5, 4).v128.const_f64x2(1, 1).f64x2.relaxed_madd().v128.store();
    });
    const payload = JSON.stringify({ probe: toBase64(featureProbe("relaxedSimd")), run: toBase64(m.build()) });
    const script = `
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const { probe, run } = JSON.parse(s);
        const valid = WebAssembly.validate(Buffer.from(probe, "base64"));
        let f32 = null, f64 = null;
        if (valid) {
          const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(run, "base64")));
          exports.run();
          f32 = Array.from(new Float32Array(exports.mem.buffer, 0, 8));
          f64 = Array.from(new Float64Array(exports.mem.buffer, 32, 2));
        }
        process.stdout.write(JSON.stringify({ valid, f32, f64 }));
      });`;
    const flagged = runNode(["--experimental-wasm-relaxed-simd"], script, payload) ?? runNode([], script, payload);
    expect(flagged?.status, flagged?.stderr).toBe(0);
    const r = JSON.parse(flagged!.stdout) as { valid: boolean; f32: number[]; f64: number[] };
    expect(r.valid).toBe(true);
    expect(r.f32).toEqual([9, 16, -5, 5, -7, -14, 7, -3]);
    expect(r.f64).toEqual([2.5, -7]);

    // Without the flag a Node 20 child refuses the probe.
    const plain = runNode([], script, payload);
    expect(plain?.status).toBe(0);
    if (nodeMajor === 20) expect((JSON.parse(plain!.stdout) as { valid: boolean }).valid).toBe(false);
  });

  test("relaxed SIMD: the flag set at runtime (as hasRelaxedSimd does) reaches worker threads", () => {
    const script = `
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const probe = Buffer.from(JSON.parse(s).probe, "base64");
        require("node:v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
        const { Worker } = require("node:worker_threads");
        const w = new Worker("require('node:worker_threads').parentPort.postMessage(WebAssembly.validate(require('node:worker_threads').workerData))", { eval: true, workerData: probe });
        w.on("message", (inWorker) => { process.stdout.write(JSON.stringify({ main: WebAssembly.validate(probe), inWorker })); w.terminate(); });
      });`;
    const r = runNode([], script, JSON.stringify({ probe: toBase64(featureProbe("relaxedSimd")) }));
    expect(r?.status, r?.stderr).toBe(0);
    expect(JSON.parse(r!.stdout)).toEqual({ main: true, inWorker: true });
  });
});
