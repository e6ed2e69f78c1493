import { describe, expect, it } from "vitest";
import { adamw, constant, cosine, linearWarmup, schedule, wsd } from "@equigrad/optim";

const at = (f: (t: number) => number, steps: number[]): number[] => steps.map(f);

describe("schedules (multipliers of a rule's lr, by 0-based update index)", () => {
  it("constant is 1 everywhere", () => {
    expect(at(constant(), [0, 1, 1e6])).toEqual([1, 1, 1]);
  });

  it("linear warmup ramps (t+1)/w, then holds 1", () => {
    expect(at(linearWarmup(4), [0, 1, 2, 3, 4, 100])).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
    expect(at(linearWarmup(0), [0, 5])).toEqual([1, 1]);
  });

  it("cosine: warmup, 1 at the end of warmup, floor + (1 − floor)/2 half way, floor at and after totalSteps", () => {
    const f = cosine({ totalSteps: 110, warmupSteps: 10, floor: 0.1 });
    expect(at(f, [0, 4, 9])).toEqual([0.1, 0.5, 1]);
    expect(f(10)).toBe(1);
    expect(f(60)).toBeCloseTo(0.55, 15);
    expect(f(35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2), 15);
    expect(f(110)).toBeCloseTo(0.1, 15);
    expect(f(500)).toBeCloseTo(0.1, 15);
    expect(cosine({ totalSteps: 100 })(0)).toBe(1);
    expect(cosine({ totalSteps: 100 })(100)).toBeCloseTo(0, 15);
  });

  it("wsd: constant, then linear decay over the last 40% by default", () => {
    const f = wsd({ totalSteps: 100 });
    expect(at(f, [0, 30, 59, 60])).toEqual([1, 1, 1, 1]);
    expect(f(70)).toBeCloseTo(0.75, 15);
    expect(f(80)).toBeCloseTo(0.5, 15);
    expect(f(100)).toBe(0);
    expect(f(150)).toBe(0);
  });

  it("wsd with warmup, a configurable decay fraction and a floor", () => {
    const f = wsd({ totalSteps: 1000, warmupSteps: 100, decayFraction: 0.2, floor: 0.1 });
    expect(at(f, [0, 49, 99, 100, 799, 800])).toEqual([0.01, 0.5, 1, 1, 1, 1]);
    expect(f(900)).toBeCloseTo(0.55, 15);
    expect(f(1000)).toBeCloseTo(0.1, 15);
  });

  it("specs from a config build the same functions, and bad specs fail clearly", () => {
    expect(schedule({ kind: "cosine", totalSteps: 110, warmupSteps: 10, floor: 0.1 })(60)).toBeCloseTo(0.55, 15);
    expect(schedule({ kind: "wsd", totalSteps: 100 })(80)).toBeCloseTo(0.5, 15);
    expect(schedule({ kind: "linear-warmup", warmupSteps: 2 })(0)).toBe(0.5);
    expect(schedule({ kind: "constant" })(7)).toBe(1);
    expect(() => schedule({ kind: "exponential" } as never)).toThrow(/unknown kind "exponential"; expected one of constant, linear-warmup, cosine, wsd/);
    expect(() => schedule({ kind: "cosine", totalSteps: 10, warmup: 2 } as never)).toThrow(/cosine schedule: unknown field warmup; known: totalSteps, warmupSteps, floor/);
    expect(() => cosine({ totalSteps: 10, warmupSteps: 10 })).toThrow(/totalSteps \(10\) must exceed warmupSteps \(10\)/);
    expect(() => wsd({ totalSteps: 100, warmupSteps: 70 })).toThrow(/must end before the decay starts at step 60/);
    expect(() => wsd({ totalSteps: 100, decayFraction: 0 })).toThrow(/decayFraction must be in \(0, 1\]/);
    expect(() => cosine({ totalSteps: 100, floor: 2 })).toThrow(/floor must be in \[0, 1\]/);
    expect(() => adamw({ schedule: { kind: "wsd" } })).toThrow(/adamw: wsd schedule: totalSteps must be a non-negative integer/);
  });
});
