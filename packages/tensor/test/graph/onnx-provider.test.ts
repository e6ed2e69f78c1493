import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureProvider, ortBinDir, ProviderError, type Provider } from "../../src/graph/onnx/providers.js";
import { OnnxSession } from "../../src/graph/onnx/session.js";
import { lowerToOnnx } from "../../src/graph/onnx/lower.js";
import { graphOf, meta } from "./onnx-helpers.js";

// Provider selection: cpu always works; a provider that cannot load is a ProviderError that
// says what is missing and how to install it — never a silent fallback to the CPU.

const cudaInstalled = existsSync(join(ortBinDir(), "libonnxruntime_providers_cuda.so"));

describe("onnx execution providers", () => {
  it("cpu is always available", () => {
    expect(() => ensureProvider("cpu")).not.toThrow();
  });
  it.skipIf(cudaInstalled)("cuda without its provider binaries: the documented message", async () => {
    let err: unknown;
    try {
      await OnnxSession.create(lowerToOnnx(graphOf({ op: "neg" }, [meta([2])])), { provider: "cuda" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/CUDA execution provider is not installed/);
    expect(msg).toMatch(/libonnxruntime_providers_cuda\.so is missing/);
    expect(msg).toMatch(/CUDA 12\.x and cuDNN 9\.x/);
    expect(msg).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(msg).toMatch(/provider "cpu"/);
  });
  it("webgpu: runs where an adapter exists, else a ProviderError that names WebGPU and the missing GPU", async () => {
    const model = lowerToOnnx(graphOf({ op: "neg" }, [meta([2])]));
    let session: OnnxSession;
    try {
      session = await OnnxSession.create(model, { provider: "webgpu" });
    } catch (e) {
      expect(e).toBeInstanceOf(ProviderError);
      expect((e as Error).message).toMatch(/WebGPU execution provider failed to start: .*adapter.*needs a GPU.*provider "cpu"/);
      return;
    }
    expect([...(await session.run({ x0: Float32Array.of(1, -2) })).y!]).toEqual([-1, 2]);
  });
  it("an unknown provider is refused by name", () => {
    expect(() => ensureProvider("tpu" as Provider)).toThrow(/unknown execution provider 'tpu': expected one of cpu, cuda, webgpu/);
  });
});
