import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromTypedArray, tidy } from "@equigrad/tensor";
import { describe, expect, it, vi } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { train } from "../src/train/loop.js";
import { restore } from "../src/commands.js";
import { exportOnnxCommand } from "../src/commands/export-onnx.js";

const tmp = tempDirs("onnx-export");
const ort = createRequire(import.meta.url)("onnxruntime-node") as typeof import("onnxruntime-node");

describe("train export-onnx", () => {
  for (const [preset, overrides] of [["gpt-tiny", {}], ["llama-tiny", {}], ["moe-small", { nLayer: 1, dModel: 32, nHead: 2, nKvHeads: 1, dFF: 24 }]] as const) {
    it(`writes an inference graph that a fresh ORT session loads and that reproduces the eager logits (${preset})`, async () => {
      const root = tmp();
      const corpus = writeCorpus(join(root, "data"));
      const run = await train(tinyConfig(root, corpus, { name: preset, model: { preset, overrides: { contextLength: 32, ...overrides } }, train: { steps: 4 }, eval: { every: 4 }, checkpoint: { every: 4 } }), { log: null });
      const out = join(root, "model.onnx");
      vi.spyOn(console, "log").mockImplementation(() => {});
      exportOnnxCommand(run.runDir, { out, batch: 2, seqLen: 16 });
      expect(existsSync(out)).toBe(true);

      const session = await ort.InferenceSession.create(readFileSync(out), { executionProviders: ["cpu"], intraOpNumThreads: 1 });
      expect(session.inputNames).toEqual(["tokens"]);
      const tokens = Int32Array.from({ length: 32 }, (_, i) => (i * 53 + 7) % 256);
      const got = (await session.run({ tokens: new ort.Tensor("int32", tokens, [2, 16]) })).logits!;
      expect(got.dims).toEqual([2, 16, 256]);
      const { model } = restore(run.runDir);
      model.eval();
      const want = tidy(() => model.forward(fromTypedArray(tokens, [2, 16], "int32")).toArray());
      const g = got.data as Float32Array;
      let worst = 0;
      want.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - g[i]!))));
      expect(worst).toBeLessThan(1e-4);
      await session.release();
    });
  }
});
