import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { OnnxSession, fromTypedArray, tidy } from "@equigrad/tensor";
import { describe, expect, it, vi } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { train } from "../src/train/loop.js";
import { restore } from "../src/commands.js";
import { exportOnnxCommand } from "../src/commands/export-onnx.js";

const tmp = tempDirs("onnx-export");

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

      // A fresh session on the file's bytes alone.
      const session = await OnnxSession.create(new Uint8Array(readFileSync(out)), { provider: "cpu", threads: 1 });
      expect(session.inputs.map((p) => [p.name, p.dtype, p.shape])).toEqual([["tokens", "int32", [2, 16]]]);
      expect(session.outputs.map((p) => [p.name, p.shape])).toEqual([["logits", [2, 16, 256]]]);
      const tokens = Int32Array.from({ length: 32 }, (_, i) => (i * 53 + 7) % 256);
      const got = (await session.run({ tokens })).logits!;
      const { model } = restore(run.runDir);
      model.eval();
      const want = tidy(() => model.forward(fromTypedArray(tokens, [2, 16], "int32")).toArray());
      const g = got as Float32Array;
      expect(g.length).toBe(want.length);
      let worst = 0;
      want.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - g[i]!))));
      expect(worst).toBeLessThan(1e-4);
      await session.release();
    });
  }
});
