import { noGrad } from "@equigrad/autograd";
import type { Partition, PartitionState, State } from "@equigrad/optim";
import { tidy, type Tensor } from "@equigrad/tensor";
import type { Transformer } from "@equigrad/models";
import type { Batch } from "./step.js";

/**
 * Per-entry optimizer instrumentation (OPTIMIZERS.md §11 T27). The partition is wrapped so that,
 * on the steps the loop arms it for, its update also reports the RMS of the update each table
 * entry applied (Δp, weight decay included) over all of the entry's parameters. That costs one
 * squared sum per parameter and one host read per entry, so the eager loop arms it only on
 * logging steps (train.logEvery) and the last step; other steps run the partition untouched.
 * A compiled step (backend onnx) arms it as "tensors": the RMS stay tensors, which become graph
 * outputs (one graph serves every step, so it measures each step).
 */
export interface Instrumented extends Partition {
  /** Measure the next update(s): as numbers (read on the host), as tensors, or not. */
  arm(on: boolean | "tensors"): void;
  /** The update RMS per entry label of the latest armed update (then cleared). */
  take(): Record<string, number> | null;
  /** The same as 0-d tensors, when armed as "tensors" (then cleared). */
  takeTensors(): Record<string, Tensor> | null;
}

export function instrument(p: Partition): Instrumented {
  let armed: boolean | "tensors" = false;
  let numbers: Record<string, number> | null = null;
  let tensors: Record<string, Tensor> | null = null;
  return {
    ...p,
    name: p.name,
    groups: p.groups,
    init: (ps) => p.init(ps),
    learningRates: (s) => p.learningRates?.(s) ?? {},
    update(grads, state, params) {
      const [updates, next] = p.update(grads, state, params);
      if (armed) {
        // Eagerly read at once (the step's tidy frees the tensors); traced, kept as tensors.
        numbers = armed === true ? {} : null;
        tensors = armed === "tensors" ? {} : null;
        for (const g of p.groups) {
          let n = 0;
          let sum: Tensor | null = null;
          for (const path of g.paths) {
            const u = updates[path]!;
            n += u.size;
            const s = u.square().sum();
            sum = sum ? sum.add(s) : s;
          }
          if (!sum) continue;
          if (numbers) numbers[g.label] = Math.sqrt(sum.item() / Math.max(n, 1));
          else tensors![g.label] = sum.div(Math.max(n, 1)).sqrt();
        }
      }
      return [updates, next];
    },
    arm(on) {
      armed = on;
    },
    take() {
      const out = numbers;
      numbers = null;
      return out;
    },
    takeTensors() {
      const out = tensors;
      tensors = null;
      return out;
    },
  };
}

/**
 * Mean ν per entry: the rules that scale by a nuclear norm keep each parameter's latest ν as a
 * 0-d slot `nu` in their state (the shared optimizer contract); entries without one are absent.
 */
export function nuByEntry(p: Partition, state: PartitionState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of p.groups) {
    const found: Tensor[] = [];
    collectNu(state[g.label], found);
    if (found.length) out[g.label] = found.reduce((a, t) => a + t.item(), 0) / found.length;
  }
  return out;
}

function collectNu(s: State | undefined, out: Tensor[]): void {
  if (s === undefined || typeof s === "number" || isTensorLike(s)) return;
  if (Array.isArray(s)) {
    for (const x of s as readonly State[]) collectNu(x, out);
    return;
  }
  for (const [k, v] of Object.entries(s as Record<string, State>)) {
    if (k === "nu" && isTensorLike(v)) out.push(v);
    else collectNu(v, out);
  }
}

/** RMS and largest |value| of the final logits on one batch (evaluation mode, no gradients). */
export function logitStats(model: Transformer, batch: Batch): { rms: number; max_abs: number } {
  const training = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const z = model.forward(batch.input);
        return { rms: Math.sqrt(z.square().mean().item()), max_abs: z.abs().max().item() };
      }),
    );
  } finally {
    model.train(training);
  }
}

/** Duck-typed, as optim's own check: state may come from another bundled copy of the tensor package. */
const isTensorLike = (v: unknown): v is Tensor => typeof v === "object" && v !== null && typeof (v as Tensor).item === "function" && Array.isArray((v as Tensor).shape);
