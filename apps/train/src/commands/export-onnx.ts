import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { noGrad } from "@equigrad/autograd";
import { lowerToOnnx, trace } from "@equigrad/tensor";
import type { Transformer } from "@equigrad/models";
import { ConfigError } from "../config/load.js";
import { restore } from "../commands.js";

export interface ExportOptions {
  /** Output file (default: <checkpoint>/model.onnx). */
  out?: string;
  /** Sequences per call (default 1). */
  batch?: number;
  /** Tokens per sequence (default: the run's train.seqLen, else the model's context length). */
  seqLen?: number;
}

/**
 * The inference graph of a model: int32 `tokens` [batch, seqLen] → float32 `logits`
 * [batch, seqLen, vocab], forward only, in evaluation mode, with the weights as initializers.
 * Shapes are static (the graph IR has no symbolic dims): export once per shape you need.
 * MoE layers trace with dense static-shape dispatch.
 */
export function inferenceOnnx(model: Transformer, batch: number, seqLen: number): Uint8Array {
  const training = model.training;
  model.eval();
  try {
    const { graph } = noGrad(() => trace((tokens) => ({ logits: model.forward(tokens) }), [{ name: "tokens", shape: [batch, seqLen], dtype: "int32" }]));
    return lowerToOnnx(graph, { name: "equigrad_inference" });
  } finally {
    model.train(training);
  }
}

export function exportOnnxCommand(target: string, o: ExportOptions): void {
  const { model, loaded, ckpt, step } = restore(target);
  const batch = o.batch ?? 1;
  const seqLen = o.seqLen ?? loaded.config.train.seqLen ?? model.contextLength;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new ConfigError(`--batch must be a positive integer, got ${o.batch}`);
  if (!(Number.isInteger(seqLen) && seqLen >= 1 && seqLen <= model.contextLength)) throw new ConfigError(`--seq-len must be an integer in [1, ${model.contextLength}] (the model's context length), got ${o.seqLen}`);
  const out = o.out ?? join(ckpt, "model.onnx");
  const bytes = inferenceOnnx(model, batch, seqLen);
  writeFileSync(out, bytes);
  console.log(`${out}: inference graph of ${ckpt} (step ${step}), tokens int32 [${batch}, ${seqLen}] → logits float32 [${batch}, ${seqLen}, ${model.vocabSize}], ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
}
