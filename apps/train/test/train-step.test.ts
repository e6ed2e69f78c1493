import { fromTypedArray, setBackend } from "@equigrad/tensor";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/load.js";
import { createModel } from "../src/train/model.js";
import { sampleTokens } from "../src/train/sample.js";
import { evaluate, type Batch } from "../src/train/step.js";
import { TINY_MODEL } from "./fixtures/train/setup.js";

setBackend("wasm");

/** A tiny gpt with heavy dropout, in training mode (as the loop holds it). */
function droppy() {
  const { config } = resolveConfig({ seed: 3, model: { preset: "gpt-tiny", overrides: TINY_MODEL, dropout: 0.5 } });
  const { model } = createModel(config, 256);
  model.train();
  return model;
}

const batch = (): Batch => {
  const x = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37) % 256);
  const y = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37 + 11) % 256);
  return { input: fromTypedArray(x, [2, 16], "int32"), target: fromTypedArray(y, [2, 16], "int32") };
};

describe("evaluation and sampling run without dropout", () => {
  it("evaluate gives the same loss every time and leaves the model in training mode", () => {
    const model = droppy();
    const b = batch();
    const a = evaluate(model, [b]);
    expect(evaluate(model, [b])).toBe(a);
    expect(model.training).toBe(true);
    model.eval();
    expect(evaluate(model, [b])).toBe(a); // = the loss without dropout
    expect(model.training).toBe(false);
  });

  it("sampling with a fixed seed gives the same tokens every time", () => {
    const model = droppy();
    const opts = { tokens: 10, temperature: 1, topK: 0, seed: 5 };
    const a = sampleTokens(model, [1, 2, 3], opts);
    expect(a).toHaveLength(10);
    expect(sampleTokens(model, [1, 2, 3], opts)).toEqual(a);
    expect(model.training).toBe(true);
  });
});
