import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { Rng, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { chain, clipByGlobalNorm, currentLearningRates, partition, stateToRecord, step, type Param, type TableEntry } from "@equigrad/optim";

/** A least-squares problem y = X·w* + b* with X [32, 4]: the loss can reach 0. */
function problem(seed: number) {
  const rng = new Rng(seed, "lsq");
  const x = rng.normal([32, 4], 0, 1, "float64");
  const wStar = rng.normal([4, 1], 0, 1, "float64");
  const y = tidy(() => x.matmul(wStar).add(0.5).keep());
  const params: Param[] = [
    { path: "w", role: "mlp.up", value: rng.normal([4, 1], 0, 0.1, "float64") },
    { path: "b", role: "bias", value: rng.normal([1], 0, 0.1, "float64") },
  ];
  return { x, y, params };
}

const mse = (p: Record<string, Tensor>, x: Tensor, y: Tensor): Tensor => x.matmul(p.w!).add(p.b!).sub(y).square().mean();
const lossAndGrad = valueAndGrad(mse);
const values = (ps: readonly Param[]): Record<string, Tensor> => Object.fromEntries(ps.map((p) => [p.path, p.value]));

/** Trains in place; returns the losses. */
function train(table: TableEntry[], steps: number, seed = 7, maxGradNorm?: number): { losses: number[]; lrs: Record<string, number>[] } {
  const { x, y, params } = problem(seed);
  const opt = partition(table, params);
  let state = opt.init(params);
  const losses: number[] = [];
  const lrs: Record<string, number>[] = [];
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      const [loss, grads] = lossAndGrad(values(params), x, y);
      state = step(opt, params, grads, state, maxGradNorm === undefined ? {} : { maxGradNorm }).state;
      losses.push((loss as Tensor).item());
      lrs.push(currentLearningRates(opt, state));
    });
  }
  return { losses, lrs };
}

describe("training a least-squares problem", () => {
  it("AdamW with warmup + cosine converges", () => {
    const schedule = { kind: "cosine", totalSteps: 600, warmupSteps: 20, floor: 0.01 };
    const { losses, lrs } = train([{ match: { roles: ["*"] }, rule: "adamw", hyper: { lr: 0.1, weightDecay: 0, schedule } }], 600);
    expect(losses[0]).toBeGreaterThan(1);
    expect(losses.at(-1)).toBeLessThan(1e-6);
    expect(Object.keys(lrs[0]!)).toEqual(["adamw"]);
    expect(lrs[0]!.adamw).toBeCloseTo(0.1 / 20, 15);
    expect(lrs[19]!.adamw).toBeCloseTo(0.1, 15);
  });

  it("SGD with Nesterov momentum on the matrix and AdamW on the bias, with clipping, converges", () => {
    const { losses } = train(
      [
        { match: { roles: ["mlp.*"] }, rule: "sgd", hyper: { lr: 0.05, momentum: 0.9, nesterov: true } },
        { match: { roles: ["bias"] }, rule: "adamw", hyper: { lr: 0.05, weightDecay: 0, schedule: { kind: "wsd", totalSteps: 400 } } },
      ],
      400,
      11,
      5,
    );
    expect(losses.at(-1)).toBeLessThan(1e-8);
  });
});

describe("memory", () => {
  it("10,000 steps (grad, clip, AdamW + SGD, in-place step) stay flat in live buffers and keep every tensor object", () => {
    const { x, y, params } = problem(3);
    const opt = chain(
      clipByGlobalNorm(10),
      partition(
        [
          { match: { roles: ["mlp.*"] }, rule: "adamw", hyper: { lr: 0.01, amsgrad: true, schedule: { kind: "cosine", totalSteps: 10_000 } } },
          { match: { roles: ["bias"] }, rule: "sgd", hyper: { lr: 0.01, momentum: 0.9 } },
        ],
        params,
      ),
    );
    let state = opt.init(params);
    const stateTensors = Object.values(stateToRecord(state)).filter((v) => typeof v !== "number");
    const paramTensors = params.map((p) => p.value);
    let at100 = -1;
    let bytes100 = -1;
    let last = Infinity;
    let norm = Number.NaN;
    for (let i = 0; i < 10_000; i++) {
      tidy(() => {
        const [loss, grads] = lossAndGrad(values(params), x, y);
        const r = step(opt, params, grads, state, { gradNorm: true });
        state = r.state;
        if (i % 1000 === 999) [last, norm] = [(loss as Tensor).item(), r.gradNorm!.item()];
      });
      if (i === 99) ({ liveBuffers: at100, liveBytes: bytes100 } = memoryStats());
    }
    expect(memoryStats().liveBuffers).toBe(at100);
    expect(memoryStats().liveBytes).toBe(bytes100);
    expect(params.map((p) => p.value)).toEqual(paramTensors);
    const now = Object.values(stateToRecord(state)).filter((v) => typeof v !== "number");
    now.forEach((t, i) => expect(t).toBe(stateTensors[i]));
    expect(stateToRecord(state)["adamw/count"]).toBe(10_000);
    expect(last).toBeLessThan(1e-3);
    expect(norm).toBeGreaterThanOrEqual(0);
  });

  it("step alone, outside any scope, leaves no buffer behind", () => {
    const { params } = problem(5);
    const opt = partition([{ match: { roles: ["*"] }, rule: "adamw" }], params);
    let state = opt.init(params);
    const grads = { w: params[0]!.value.mul(0).add(1), b: params[1]!.value.mul(0).add(1) };
    state = step(opt, params, grads, state).state;
    const before = memoryStats().liveBuffers;
    for (let i = 0; i < 1000; i++) state = step(opt, params, grads, state).state;
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
