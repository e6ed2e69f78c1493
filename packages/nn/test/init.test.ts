import { describe, expect, it } from "vitest";
import { Rng, memoryStats } from "@equigrad/tensor";
import { GPT2_STD, constantInit, normalInit, onesInit, residualStd, zerosInit } from "@equigrad/nn";

describe("init", () => {
  it("GPT-2 constants: 0.02, and 0.02/√(2·n_layer) for residual projections", () => {
    expect(GPT2_STD).toBe(0.02);
    expect(residualStd(12)).toBeCloseTo(0.02 / Math.sqrt(24), 15);
    expect(residualStd(4, 0.1)).toBeCloseTo(0.1 / Math.sqrt(8), 15);
  });

  it("normal init: seeded, with the requested std, kept, leaving no temporaries", () => {
    const before = memoryStats().liveBuffers;
    const a = normalInit(new Rng(5, "w"), 0.1)([100, 100], "float64");
    expect(memoryStats().liveBuffers).toBe(before + 1);
    expect(a.isKept).toBe(true);
    const v = a.toArray();
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(std).toBeGreaterThan(0.097);
    expect(std).toBeLessThan(0.103);
    expect(normalInit(new Rng(5, "w"), 0.1)([100, 100], "float64").toArray()).toEqual(v);
    expect(normalInit(new Rng(6, "w"), 0.1)([100, 100], "float64").toArray()).not.toEqual(v);
  });

  it("constant inits", () => {
    expect(zerosInit([3], "float32").toArray()).toEqual([0, 0, 0]);
    expect(onesInit([2], "float64").toArray()).toEqual([1, 1]);
    expect(constantInit(0.5)([2], "float32").toArray()).toEqual([0.5, 0.5]);
  });
});
